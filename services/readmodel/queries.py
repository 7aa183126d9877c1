"""Reads of the PostgreSQL read model for the staff API and staff page.

A customer is seen as a *cluster* of keys: a BSN or KvK key absorbs the e-mail and phone
keys it carries (a verified call, a DigiD form). A weak key (e-mail, phone) belongs to the
one strong key that carries it; when several strong keys share it (a family landline), it
is linked to none of them, so one person's history never shows in another's.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.customer.view import most_used
from schemas.identifiers import STRONG_KINDS
from schemas.keys import key_of

OPEN_STATUSES = ["open", "suspended"]
CLOSED_STATUSES = ["answered", "resolved", "withdrawn"]


class BadCursor(ValueError):
    """The `before` cursor is not one this API handed out."""


@dataclass(frozen=True)
class Cluster:
    root: str
    keys: list[str]


async def cluster(conn: asyncpg.Connection, key: str) -> Cluster | None:
    """The keys that are one customer with `key`, or None when the key is unknown."""
    rows = await conn.fetch(
        "SELECT hash, kind FROM customer_identifiers WHERE customer_key = $1", key
    )
    if not rows:
        return None
    if not any(key_of(r["hash"]) == key and r["kind"] in STRONG_KINDS for r in rows):
        # A weak key belongs to the one strong key that carries its identifier.
        owners = await conn.fetch(
            "SELECT DISTINCT ci.customer_key FROM customer_identifiers ci"
            " JOIN customer_identifiers mine ON mine.hash = ci.hash"
            " WHERE mine.customer_key = $1 AND ci.customer_key <> $1"
            " AND ci.customer_key IN (SELECT customer_key FROM customer_identifiers"
            "  WHERE kind = ANY($2) AND customer_key = 'k-' || left(hash, 32))",
            key,
            [kind.value for kind in sorted(STRONG_KINDS)],
        )
        if len(owners) == 1:
            return await cluster(conn, owners[0]["customer_key"])
        return Cluster(key, [key])
    # A strong key absorbs the weak keys defined by the identifiers it carries.
    weak = [key_of(r["hash"]) for r in rows if r["kind"] not in STRONG_KINDS]
    present = await conn.fetch(
        "SELECT DISTINCT customer_key FROM customer_identifiers WHERE customer_key = ANY($1)", weak
    )
    return Cluster(key, [key, *sorted({r["customer_key"] for r in present} - {key})])


async def keys_for_hashes(conn: asyncpg.Connection, hashes: list[str]) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT customer_key FROM customer_identifiers WHERE hash = ANY($1)"
        " ORDER BY customer_key",
        hashes,
    )
    return [r["customer_key"] for r in rows]


async def summary(conn: asyncpg.Connection, group: Cluster) -> dict[str, Any]:
    """The customer summary of contract.md §4 over every key of the cluster."""
    idents = await conn.fetch(
        "SELECT DISTINCT ON (hash) kind, masked FROM customer_identifiers"
        " WHERE customer_key = ANY($1) ORDER BY hash, first_seen",
        group.keys,
    )
    counts = await conn.fetch(
        "SELECT contact_count, channels, inbound_channels, first_contact_at, last_contact_at"
        " FROM customers WHERE customer_key = ANY($1)",
        group.keys,
    )
    channels: dict[str, int] = {}
    inbound: dict[str, int] = {}
    for row in counts:
        for name, n in _json(row["channels"]).items():
            channels[name] = channels.get(name, 0) + int(n)
        for name, n in _json(row["inbound_channels"]).items():
            inbound[name] = inbound.get(name, 0) + int(n)
    firsts = [r["first_contact_at"] for r in counts if r["first_contact_at"]]
    lasts = [r["last_contact_at"] for r in counts if r["last_contact_at"]]
    order = {"bsn": 0, "kvk": 1, "email": 2, "phone": 3}
    return {
        "customer_key": group.root,
        "linked_keys": [k for k in group.keys if k != group.root],
        "identifiers": sorted(
            ({"kind": r["kind"], "masked": r["masked"]} for r in idents),
            key=lambda i: (order.get(i["kind"], 9), i["masked"]),
        ),
        "contact_count": sum(r["contact_count"] for r in counts),
        "channels": dict(sorted(channels.items())),
        "first_contact_at": _iso(min(firsts)) if firsts else None,
        "last_contact_at": _iso(max(lasts)) if lasts else None,
        "preferred_channel": most_used(inbound),
        "open_requests": await requests(conn, statuses=OPEN_STATUSES, customer_keys=group.keys),
    }


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


_REQUEST_COLUMNS = (
    "r.request_id, r.customer_key, r.request_type, r.subject, r.channel, r.department,"
    " r.vulnerable, r.opened_at, r.status, r.acknowledged_at, r.answered_at, r.closed_at,"
    " r.due_at, EXISTS (SELECT 1 FROM signals s WHERE s.request_id = r.request_id"
    " AND s.event_type = 'nl.contactmoment.deadline.breached.v1') AS breached"
)


_OVERDUE = (
    "((r.status = ANY('{open,suspended}') AND r.due_at IS NOT NULL AND r.due_at < now())"
    " OR EXISTS (SELECT 1 FROM signals s WHERE s.request_id = r.request_id"
    " AND s.event_type = 'nl.contactmoment.deadline.breached.v1'))"
)


async def scope(
    conn: asyncpg.Connection, *, keys: list[str] | None = None, request_id: str | None = None
) -> tuple[list[str | None], bool]:
    """What the role rules need: the departments of the requests and whether any is overdue."""
    rows = await conn.fetch(
        f"SELECT r.department, {_OVERDUE} AS overdue FROM requests r"  # noqa: S608
        " WHERE r.customer_key = ANY($1) OR r.request_id = $2",
        keys or [],
        request_id,
    )
    return [r["department"] for r in rows], any(r["overdue"] for r in rows)


def _request(row: asyncpg.Record) -> dict[str, Any]:
    item = dict(row)
    for key in ("opened_at", "acknowledged_at", "answered_at", "closed_at", "due_at"):
        item[key] = _iso(item[key])
    return item


async def requests(
    conn: asyncpg.Connection,
    *,
    statuses: list[str] | None = None,
    overdue: bool = False,
    department: str | None = None,
    request_type: str | None = None,
    customer_keys: list[str] | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The worklist: ordered by due_at (unknown last), then by how long it is open."""
    where, args = _filters(
        ("r.status = ANY(${})", statuses),
        ("r.department = ${}", department),
        ("r.request_type = ${}", request_type),
        ("r.customer_key = ANY(${})", customer_keys),
    )
    if overdue:
        where.append(_OVERDUE)
    args.append(limit)
    sql = (
        f"SELECT {_REQUEST_COLUMNS} FROM requests r"  # noqa: S608 - fixed clauses, values bound
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY r.due_at ASC NULLS LAST, r.opened_at ASC LIMIT ${len(args)}"
    )
    return [_request(row) for row in await conn.fetch(sql, *args)]


def _filters(*clauses: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """The WHERE clauses whose value is given, numbered as bind parameters in order."""
    where: list[str] = []
    args: list[Any] = []
    for clause, value in clauses:
        if value:
            args.append(value)
            where.append(clause.format(len(args)))
    return where, args


async def access_log(
    conn: asyncpg.Connection,
    *,
    customer_keys: list[str] | None = None,
    staff_subject: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Access records, newest first (the auditor's view; residents see fewer columns)."""
    where, args = _filters(
        ("customer_key = ANY(${})", customer_keys),
        ("staff_subject = ${}", staff_subject),
        ("occurred_at >= ${}", start),
        ("occurred_at < ${}", end),
    )
    args.append(limit)
    sql = (
        "SELECT event_id, occurred_at, customer_key, trace_id, span_id, name, endpoint, purpose,"  # noqa: S608
        " processing_activity, staff_subject, role, department FROM access_log"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY occurred_at DESC, event_id LIMIT ${len(args)}"
    )
    return [
        {**dict(r), "event_id": str(r["event_id"]), "occurred_at": _iso(r["occurred_at"])}
        for r in await conn.fetch(sql, *args)
    ]


async def request_detail(conn: asyncpg.Connection, request_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_REQUEST_COLUMNS} FROM requests r WHERE r.request_id = $1",  # noqa: S608
        request_id,
    )
    if row is None:
        return None
    history = await conn.fetch(
        "SELECT event_id, event_type, occurred_at, data FROM request_history"
        " WHERE request_id = $1 ORDER BY occurred_at, event_id",
        request_id,
    )
    signals = await conn.fetch(
        "SELECT event_id, event_type, occurred_at, due_at, detected_at FROM signals"
        " WHERE request_id = $1 ORDER BY occurred_at, event_id",
        request_id,
    )
    notes = await conn.fetch(
        "SELECT notification_id, kind, audience, channel, message, occurred_at"
        " FROM notifications WHERE request_id = $1 ORDER BY occurred_at, notification_id",
        request_id,
    )
    detail = _request(row)
    detail["notifications"] = [{**dict(n), "occurred_at": _iso(n["occurred_at"])} for n in notes]
    detail["history"] = [
        {
            "event_id": str(h["event_id"]),
            "type": _short(h["event_type"]),
            "occurred_at": _iso(h["occurred_at"]),
            "data": _json(h["data"]),
        }
        for h in history
    ]
    detail["signals"] = [
        {
            "event_id": str(s["event_id"]),
            "type": _short(s["event_type"]),
            "occurred_at": _iso(s["occurred_at"]),
            "due_at": _iso(s["due_at"]),
            "detected_at": _iso(s["detected_at"]),
        }
        for s in signals
    ]
    return detail


def _short(event_type: str) -> str:
    return event_type.removeprefix("nl.contactmoment.").removesuffix(".v1")


def encode_cursor(occurred_at: datetime, event_id: UUID) -> str:
    raw = f"{occurred_at.isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, event_id = raw.partition("|")
        return datetime.fromisoformat(when), UUID(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None


_TIMELINE = (
    "SELECT event_id, customer_key, occurred_at, event_type, channel, direction, subject,"
    " outcome, request_id, summary FROM timeline WHERE customer_key = ANY($1)"
)
TIMELINE_FIRST = _TIMELINE + " ORDER BY occurred_at DESC, event_id DESC LIMIT $2"
TIMELINE_AFTER = (
    _TIMELINE + " AND (occurred_at, event_id) < ($3, $4) ORDER BY occurred_at DESC,"
    " event_id DESC LIMIT $2"
)


async def timeline(
    conn: asyncpg.Connection, group: Cluster, limit: int | None, before: str | None
) -> dict[str, Any]:
    """Newest first over every key of the cluster; `next` continues after the last item
    (`limit` None: all of it, one page)."""
    args: list[Any] = [group.keys, None if limit is None else limit + 1]
    if before:
        when, event_id = decode_cursor(before)
        args += [when, event_id]
    rows = await conn.fetch(TIMELINE_AFTER if before else TIMELINE_FIRST, *args)
    page = rows[:limit]
    items = [
        {
            "event_id": str(r["event_id"]),
            "type": _short(r["event_type"]),
            "occurred_at": _iso(r["occurred_at"]),
            "customer_key": r["customer_key"],
            "channel": r["channel"],
            "direction": r["direction"],
            "subject": r["subject"],
            "outcome": r["outcome"],
            "request_id": r["request_id"],
            "summary": r["summary"],
        }
        for r in page
    ]
    more = limit is not None and len(rows) > limit
    last = page[-1] if page else None
    return {
        "items": items,
        "next": encode_cursor(last["occurred_at"], last["event_id"]) if more and last else None,
    }
