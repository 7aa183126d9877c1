"""The access log in the read model: who read whose data, when, in which role and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.readmodel.rows import filters, iso

COLUMNS = (
    "a.event_id, a.occurred_at, a.customer_key, a.trace_id, a.span_id, a.name, a.endpoint,"
    " a.purpose, a.processing_activity, a.staff_subject, a.role, a.department"
)


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
        ("a.staff_subject = ${}", staff_subject),
        ("a.occurred_at >= ${}", start),
        ("a.occurred_at < ${}", end),
    )
    args.append(limit)
    order = f"ORDER BY a.occurred_at DESC, a.event_id LIMIT ${len(args)}"
    if customer_keys:
        # Per key its newest `limit` records, read in order from access_log_customer_order
        # (migration 0006), then the newest `limit` of those: a key read thousands of times
        # costs one page, not its history.
        args.append(customer_keys)
        where.append("a.customer_key = k.customer_key")
    sql = (
        f"SELECT {COLUMNS} FROM access_log a"  # noqa: S608 - fixed clauses, values bound
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" {order}"
    )
    if customer_keys:
        sql = (
            f"SELECT a.* FROM (SELECT DISTINCT unnest(${len(args)}::text[]) AS customer_key) k,"  # noqa: S608
            f" LATERAL ({sql}) a {order}"
        )
    return [
        {**dict(r), "event_id": str(r["event_id"]), "occurred_at": iso(r["occurred_at"])}
        for r in await conn.fetch(sql, *args)
    ]
