"""Requests in the read model: the worklist, one request's detail, what the role rules need
(scope), and the one definition of *overdue*.

Overdue means: still to be done (status open or suspended) and either past its due instant
or breached (the clock signalled `deadline.breached`; an extension or a suspension after the
breach can move or clear `due_at`, the breach still counts). A closed request is never
overdue, however late it was closed: the worklist, the regieteam's reach and the
`requests_overdue` gauge all use this one predicate.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.readmodel.rows import filters, iso, json_object, short_type

OPEN_STATUSES = ["open", "suspended"]
CLOSED_STATUSES = ["answered", "resolved", "withdrawn"]
STATUS_SETS = {
    frozenset(OPEN_STATUSES): "r.status IN ('open', 'suspended')",
    frozenset(CLOSED_STATUSES): "r.status IN ('answered', 'resolved', 'withdrawn')",
}

BREACHED = (
    "EXISTS (SELECT 1 FROM signals s WHERE s.request_id = r.request_id"
    " AND s.event_type = 'nl.contactmoment.deadline.breached.v1')"
)
OVERDUE = (
    "(r.status = ANY('{open,suspended}')"
    f" AND ((r.due_at IS NOT NULL AND r.due_at < now()) OR {BREACHED}))"
)
"""The overdue predicate over `requests r` (see the module docstring)."""

BASE_COLUMNS = (
    "r.request_id, r.customer_key, r.request_type, r.subject, r.channel, r.department,"
    " r.vulnerable, r.opened_at, r.status, r.acknowledged_at, r.answered_at, r.closed_at,"
    " r.due_at"
)
REQUEST_COLUMNS = f"{BASE_COLUMNS}, {BREACHED} AS breached"


def _request(row: asyncpg.Record) -> dict[str, Any]:
    item = dict(row)
    for key in ("opened_at", "acknowledged_at", "answered_at", "closed_at", "due_at"):
        item[key] = iso(item[key])
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
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The worklist: ordered by due_at (unknown last), then by how long it is open;
    `offset` skips that many rows (the staff page's pages, capped there)."""
    # The two status sets the API asks for are literals, so the planner matches them to the
    # partial worklist indexes (migration 0006) in any plan, generic ones too.
    known = STATUS_SETS.get(frozenset(statuses or ()))
    where, args = filters(
        ("r.status = ANY(${})", None if known else statuses),
        ("r.department = ${}", department),
        ("r.request_type = ${}", request_type),
        ("r.customer_key = ANY(${})", customer_keys),
    )
    if known:
        where.insert(0, known)
    if overdue:
        where.append(OVERDUE)
    args.extend([limit, offset])
    # The page first, then its breach flags: one index probe per listed request (a flag in
    # the same SELECT is planned for every candidate row, a scan of all signals).
    order = "ORDER BY r.due_at ASC NULLS LAST, r.opened_at ASC"
    sql = (
        f"SELECT r.*, {BREACHED} AS breached FROM (SELECT {BASE_COLUMNS} FROM requests r"  # noqa: S608 - fixed clauses, values bound
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" {order} LIMIT ${len(args) - 1} OFFSET ${len(args)}) r {order}"
    )
    return [_request(row) for row in await conn.fetch(sql, *args)]


async def scope(
    conn: asyncpg.Connection, *, keys: list[str] | None = None, request_id: str | None = None
) -> tuple[list[str | None], bool]:
    """What the role rules need: the departments of the requests and whether any is overdue."""
    rows = await conn.fetch(
        f"SELECT r.department, {OVERDUE} AS overdue FROM requests r"  # noqa: S608
        " WHERE r.customer_key = ANY($1) OR r.request_id = $2",
        keys or [],
        request_id,
    )
    return [r["department"] for r in rows], any(r["overdue"] for r in rows)


async def owner(conn: asyncpg.Connection, request_id: str) -> str | None:
    """The customer key a request belongs to, or None when the request is unknown."""
    key: str | None = await conn.fetchval(
        "SELECT customer_key FROM requests WHERE request_id = $1", request_id
    )
    return key


async def existing(conn: asyncpg.Connection, request_ids: list[str]) -> set[str]:
    """Which of these requests the read model holds."""
    rows = await conn.fetch(
        "SELECT request_id FROM requests WHERE request_id = ANY($1)", request_ids
    )
    return {r["request_id"] for r in rows}


async def request_detail(conn: asyncpg.Connection, request_id: str) -> dict[str, Any] | None:
    """One request with its history, signals and notifications; None when unknown."""
    row = await conn.fetchrow(
        f"SELECT {REQUEST_COLUMNS} FROM requests r WHERE r.request_id = $1",  # noqa: S608
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
    detail["notifications"] = [{**dict(n), "occurred_at": iso(n["occurred_at"])} for n in notes]
    detail["history"] = [
        {
            "event_id": str(h["event_id"]),
            "type": short_type(h["event_type"]),
            "occurred_at": iso(h["occurred_at"]),
            "data": json_object(h["data"]),
        }
        for h in history
    ]
    detail["signals"] = [
        {
            "event_id": str(s["event_id"]),
            "type": short_type(s["event_type"]),
            "occurred_at": iso(s["occurred_at"]),
            "due_at": iso(s["due_at"]),
            "detected_at": iso(s["detected_at"]),
        }
        for s in signals
    ]
    return detail


async def open_and_overdue(conn: asyncpg.Connection) -> dict[str, tuple[int, int]]:
    """Per request type: how many requests are open (or suspended) and how many overdue."""
    rows = await conn.fetch(
        f"SELECT r.request_type, count(*) AS open, count(*) FILTER (WHERE {OVERDUE})"  # noqa: S608
        " AS overdue FROM requests r WHERE r.status = ANY($1) GROUP BY r.request_type",
        OPEN_STATUSES,
    )
    return {r["request_type"]: (int(r["open"]), int(r["overdue"])) for r in rows}
