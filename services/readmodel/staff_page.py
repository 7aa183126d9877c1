"""Reads the staff pages need beyond the API's: the histories of a customer's open requests
in one statement, one request's status right now (to refuse a step the page showed but the
request no longer allows), and the identifier that defines a customer's key (to register a
contact on the customer's page)."""

from __future__ import annotations

from typing import Any

import asyncpg

from schemas.keys import Identifier, key_of
from services.readmodel import worklist
from services.readmodel.rows import iso, json_object, short_type


async def histories(conn: asyncpg.Connection, request_ids: list[str]) -> dict[str, list[Any]]:
    """Each request's history, oldest first (index request_history_request)."""
    rows = await conn.fetch(
        "SELECT request_id, event_id, event_type, occurred_at, data FROM request_history"
        " WHERE request_id = ANY($1) ORDER BY request_id, occurred_at, event_id",
        request_ids,
    )
    found: dict[str, list[Any]] = {r: [] for r in request_ids}
    for row in rows:
        found[row["request_id"]].append(
            {
                "event_id": str(row["event_id"]),
                "type": short_type(row["event_type"]),
                "occurred_at": iso(row["occurred_at"]),
                "data": json_object(row["data"]),
            }
        )
    return found


async def request_state(conn: asyncpg.Connection, request_id: str) -> asyncpg.Record | None:
    """customer_key, status and acknowledged_at of one request; None when unknown."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT customer_key, status, acknowledged_at FROM requests WHERE request_id = $1",
        request_id,
    )
    return row


async def has_event(conn: asyncpg.Connection, event_id: str) -> bool:
    """Has the projector applied this event (its id is in processed_events)?"""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_id = $1::uuid)", event_id
    )
    return found


async def defining_identifier(conn: asyncpg.Connection, key: str) -> Identifier | None:
    """The identifier whose hash makes `key` (k- and its first 32 hex digits)."""
    rows = await conn.fetch(
        "SELECT kind, hash, masked, verified FROM customer_identifiers WHERE customer_key = $1",
        key,
    )
    for row in rows:
        if key_of(row["hash"]) == key:
            return Identifier(
                kind=row["kind"], hash=row["hash"], masked=row["masked"], verified=row["verified"]
            )
    return None


async def recently_closed(
    conn: asyncpg.Connection, keys: list[str], limit: int
) -> list[dict[str, Any]]:
    """The customer's most recently closed requests (to reopen one), newest first."""
    rows = await conn.fetch(
        f"SELECT {worklist.REQUEST_COLUMNS} FROM requests r"  # noqa: S608 - fixed columns
        " WHERE r.customer_key = ANY($1) AND r.status IN ('answered', 'resolved', 'withdrawn')"
        " ORDER BY r.closed_at DESC NULLS LAST LIMIT $2",
        keys,
        limit,
    )
    return [{**dict(r), **{k: iso(r[k]) for k in TIMES}} for r in rows]


TIMES = ("opened_at", "acknowledged_at", "answered_at", "closed_at", "due_at")
