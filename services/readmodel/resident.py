"""The resident's own reads, page by page: their requests and who looked at their data, each
with a keyset cursor so that a page costs what it shows however long the history is (the
resident's page and the streamed export; the timeline's pages are customers.timeline).

A cursor is opaque (URL-safe base64 of the sort key of the last row shown): it names a
position, never an identifier or a name, so it may travel in a URL.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.readmodel import worklist
from services.readmodel.customers import BadCursor, decode_cursor, encode_cursor
from services.readmodel.rows import iso, short_type

_TIMES = ("opened_at", "acknowledged_at", "answered_at", "closed_at", "due_at")


def _encode(parts: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    if (
        not isinstance(parts, list)
        or len(parts) != size
        or not all(isinstance(p, str) for p in parts)
    ):
        raise BadCursor(cursor)
    return parts


# The soonest due first (no due instant: last), then the longest open: as the worklist.
_DUE = "COALESCE(r.due_at, 'infinity'::timestamptz)"
_REQUESTS = (
    f"SELECT {worklist.REQUEST_COLUMNS}, {_DUE} AS _due FROM requests r"  # noqa: S608
    " WHERE r.customer_key = ANY($1)"
)
REQUESTS_FIRST = _REQUESTS + f" ORDER BY {_DUE}, r.opened_at, r.request_id LIMIT $2"
REQUESTS_AFTER = (
    _REQUESTS + f" AND ({_DUE}, r.opened_at, r.request_id) > ($3, $4, $5)"
    f" ORDER BY {_DUE}, r.opened_at, r.request_id LIMIT $2"
)


async def requests(
    conn: asyncpg.Connection, keys: list[str], limit: int, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the customer's requests and the cursor of the next page (None: the last)."""
    args: list[Any] = [keys, limit + 1]
    if after:
        due, opened, request_id = _decode(after, 3)
        try:
            args += [datetime.fromisoformat(due), datetime.fromisoformat(opened), request_id]
        except ValueError:
            raise BadCursor(after) from None
    rows = await conn.fetch(REQUESTS_AFTER if after else REQUESTS_FIRST, *args)
    page = rows[:limit]
    items = []
    for row in page:
        item = {k: v for k, v in dict(row).items() if k != "_due"}
        items.append({**item, **{k: iso(item[k]) for k in _TIMES}})
    last = page[-1] if page else None
    more = len(rows) > limit and last is not None
    cursor = (
        _encode([last["_due"].isoformat(), last["opened_at"].isoformat(), last["request_id"]])
        if more and last is not None
        else None
    )
    return items, cursor


_ACCESS = (
    "SELECT event_id, occurred_at, customer_key, name, purpose, processing_activity, role,"
    " department FROM access_log WHERE customer_key = ANY($1)"
)
# Newest first, then by event id: the order of the access log's index per customer.
ACCESS_FIRST = _ACCESS + " ORDER BY occurred_at DESC, event_id LIMIT $2"
ACCESS_AFTER = (
    _ACCESS + " AND (occurred_at < $3 OR (occurred_at = $3 AND event_id > $4))"
    " ORDER BY occurred_at DESC, event_id LIMIT $2"
)


async def access_log(
    conn: asyncpg.Connection, keys: list[str], limit: int, before: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of who looked at the customer's data, newest first, and the next cursor."""
    args: list[Any] = [keys, limit + 1]
    if before:
        when, event_id = _decode(before, 2)
        try:
            args += [datetime.fromisoformat(when), UUID(event_id)]
        except ValueError:
            raise BadCursor(before) from None
    rows = await conn.fetch(ACCESS_AFTER if before else ACCESS_FIRST, *args)
    page = rows[:limit]
    items = [
        {**dict(r), "event_id": str(r["event_id"]), "occurred_at": iso(r["occurred_at"])}
        for r in page
    ]
    last = page[-1] if page else None
    more = len(rows) > limit and last is not None
    cursor = (
        _encode([last["occurred_at"].isoformat(), str(last["event_id"])])
        if more and last is not None
        else None
    )
    return items, cursor


_TIMELINE = (
    "SELECT event_id, occurred_at, event_type, channel, direction, subject, outcome,"
    " request_id FROM timeline WHERE customer_key = ANY($1)"
    " AND ($3::text[] IS NULL OR event_type = ANY($3))"
)
TIMELINE_FIRST = _TIMELINE + " ORDER BY occurred_at DESC, event_id DESC LIMIT $2"
TIMELINE_AFTER = (
    _TIMELINE + " AND (occurred_at, event_id) < ($4, $5) ORDER BY occurred_at DESC,"
    " event_id DESC LIMIT $2"
)


async def timeline(
    conn: asyncpg.Connection,
    keys: list[str],
    limit: int,
    before: str | None,
    event_types: list[str] | None = None,
) -> dict[str, Any]:
    """A page of the resident's contacts and request events, newest first (only
    `event_types` when given), and `next`: the cursor of customers.timeline."""
    args: list[Any] = [keys, limit + 1, event_types]
    if before:
        args += list(decode_cursor(before))
    rows = await conn.fetch(TIMELINE_AFTER if before else TIMELINE_FIRST, *args)
    page = rows[:limit]
    items = [
        {
            "event_id": str(r["event_id"]),
            "type": short_type(r["event_type"]),
            "occurred_at": r["occurred_at"].isoformat(),
            "channel": r["channel"],
            "direction": r["direction"],
            "subject": r["subject"],
            "outcome": r["outcome"],
            "request_id": r["request_id"],
        }
        for r in page
    ]
    last = page[-1] if page else None
    more = len(rows) > limit and last is not None
    return {
        "items": items,
        "next": encode_cursor(last["occurred_at"], last["event_id"]) if more and last else None,
    }
