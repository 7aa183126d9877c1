"""The KPI aggregates (kpi_contrib, kpi_daily) of a read model written as rows by
harness/readmodel_data.py, as the projector would have kept them: every request's facts
and every timeline row, signal and notification go through services/readmodel/kpi_store.py
`update`, a chunk at a time. The generator writes tables, not events, so without this the
KPI reads of a generated read model would read empty aggregates.

Each chunk is a plan of rows read back from the tables (their columns are the plan's, in
the same order) plus the ids of a chunk of requests, in one transaction, as a batch is.
"""

from __future__ import annotations

import asyncpg

from domain.clock.norms import Catalogue
from services.readmodel import kpi_store
from services.readmodel.projection import Plan

CHUNK = 5_000
# Each source read in key order, a chunk at a time: (statement, key column, plan field).
SOURCES = (
    (
        "SELECT event_id, customer_key, occurred_at, event_type, channel, direction, subject,"
        " outcome, request_id, summary, data::text FROM timeline",
        "event_id",
        "timeline",
    ),
    (
        "SELECT event_id, request_id, customer_key, event_type, occurred_at, due_at,"
        " detected_at, data::text FROM signals",
        "event_id",
        "signals",
    ),
    (
        "SELECT event_id, notification_id, customer_key, kind, audience, channel, request_id,"
        " message, occurred_at FROM notifications",
        "event_id",
        "notifications",
    ),
    ("SELECT request_id FROM requests", "request_id", "requests"),
)


async def fill_kpi_aggregates(conn: asyncpg.Connection, catalogue: Catalogue) -> int:
    """Count every generated row into the aggregates; returns the kpi_daily rows made."""
    for select, key, field in SOURCES:
        last = None
        while True:
            # Keyset paging on the key's own index, never OFFSET nor a sort of the table.
            after = f"WHERE {key} > $1 " if last is not None else ""
            query = f"{select} {after}ORDER BY {key} LIMIT {CHUNK}"
            rows = await conn.fetch(query, *([last] if last is not None else []))
            if not rows:
                break
            last = rows[-1][key]
            plan, touched = Plan(), []
            if field == "requests":
                touched = [r["request_id"] for r in rows]
            else:
                setattr(plan, field, [tuple(r) for r in rows])
            async with conn.transaction():  # as a batch: one transaction
                await kpi_store.update(conn, catalogue, plan, touched)
    # As autovacuum leaves them once settled: many requests' rows were written twice (an
    # outbound contact's pass, then their own), and index-only scans of a table with dead
    # rows and no visibility map read the heap (the KPI page measured 4 x slower so).
    await conn.execute("VACUUM (ANALYZE) kpi_contrib, kpi_daily")
    made: int = await conn.fetchval("SELECT count(*) FROM kpi_daily")
    return made
