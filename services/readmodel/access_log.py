"""The access log in the read model: who read whose data, when, in which role and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.readmodel.rows import filters, iso


async def entries(
    conn: asyncpg.Connection,
    *,
    customer_keys: list[str] | None = None,
    staff_subject: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Access records, newest first (the auditor's view; residents see fewer columns)."""
    where, args = filters(
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
        {**dict(r), "event_id": str(r["event_id"]), "occurred_at": iso(r["occurred_at"])}
        for r in await conn.fetch(sql, *args)
    ]
