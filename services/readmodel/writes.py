"""The projection's writes: the idempotency ledger, and a batch plan written with one
statement per table. The caller holds the transaction (services/projector/apply.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from schemas.envelope import Envelope
from services.readmodel.projection import Plan, Row

# Bulk inserts: arrays in, unnest out; ON CONFLICT makes a repeat harmless.
TIMELINE = (
    "INSERT INTO timeline (event_id, customer_key, occurred_at, event_type, channel, direction,"
    " subject, outcome, request_id, summary, data)"
    " SELECT e, k, t, ty, ch, d, s, o, r, su, da::jsonb FROM unnest($1::uuid[], $2::text[],"
    " $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
    " $10::text[], $11::text[]) AS x(e, k, t, ty, ch, d, s, o, r, su, da)"
    " ON CONFLICT (event_id) DO NOTHING"
)
IDENTIFIERS = (
    "INSERT INTO customer_identifiers (customer_key, hash, kind, masked, first_seen, verified)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],"
    " $6::bool[])"
    " ON CONFLICT (customer_key, hash) DO UPDATE"
    " SET first_seen = LEAST(customer_identifiers.first_seen, EXCLUDED.first_seen),"
    # text past its retention opens as [gewist]: a later sighting supplies the display
    "  masked = CASE WHEN customer_identifiers.masked = '[gewist]' THEN EXCLUDED.masked"
    "  ELSE customer_identifiers.masked END,"
    # a link verified by any event stays verified (provenance only ever grows)
    "  verified = customer_identifiers.verified OR EXCLUDED.verified"
    " WHERE EXCLUDED.first_seen < customer_identifiers.first_seen"
    "  OR customer_identifiers.masked = '[gewist]'"
    "  OR (EXCLUDED.verified AND NOT customer_identifiers.verified)"
)
CUSTOMERS = (
    "INSERT INTO customers AS c (customer_key, contact_count, channels, inbound_channels,"
    " first_contact_at, last_contact_at, last_inbound_at)"
    " SELECT k, n, ch::jsonb, ib::jsonb, f, l, li FROM unnest($1::text[], $2::int[], $3::text[],"
    " $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])"
    " AS x(k, n, ch, ib, f, l, li)"
    " ON CONFLICT (customer_key) DO UPDATE SET"
    "  contact_count = c.contact_count + EXCLUDED.contact_count,"
    "  channels = add_counts(c.channels, EXCLUDED.channels),"
    "  inbound_channels = add_counts(c.inbound_channels, EXCLUDED.inbound_channels),"
    "  first_contact_at = LEAST(c.first_contact_at, EXCLUDED.first_contact_at),"
    "  last_contact_at = GREATEST(c.last_contact_at, EXCLUDED.last_contact_at),"
    "  last_inbound_at = GREATEST(c.last_inbound_at, EXCLUDED.last_inbound_at)"
)
REQUESTS = (
    "INSERT INTO requests (request_id, customer_key, request_type, subject, channel, department,"
    " vulnerable, opened_at, status, updated_at)"
    " SELECT r, k, ty, s, ch, d, v, t, 'open', t FROM unnest($1::text[], $2::text[], $3::text[],"
    " $4::text[], $5::text[], $6::text[], $7::bool[], $8::timestamptz[])"
    " AS x(r, k, ty, s, ch, d, v, t) ON CONFLICT (request_id) DO NOTHING"
)
HISTORY = (
    "INSERT INTO request_history (event_id, request_id, customer_key, event_type, occurred_at,"
    " data) SELECT e, r, k, ty, t, da::jsonb FROM unnest($1::uuid[], $2::text[], $3::text[],"
    " $4::text[], $5::timestamptz[], $6::text[]) AS x(e, r, k, ty, t, da)"
    " ON CONFLICT (event_id) DO NOTHING"
)
SIGNALS = (
    "INSERT INTO signals (event_id, request_id, customer_key, event_type, occurred_at, due_at,"
    " detected_at, data) SELECT e, r, k, ty, t, du, de, da::jsonb FROM unnest($1::uuid[],"
    " $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],"
    " $7::timestamptz[], $8::text[]) AS x(e, r, k, ty, t, du, de, da)"
    " ON CONFLICT (event_id) DO NOTHING"
)
NOTIFICATIONS = (
    "INSERT INTO notifications (event_id, notification_id, customer_key, kind, audience, channel,"
    " request_id, message, occurred_at) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[],"
    " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])"
    " ON CONFLICT (event_id) DO NOTHING"
)

ACCESS_LOG = (
    "INSERT INTO access_log (event_id, occurred_at, customer_key, trace_id, span_id, name,"
    " endpoint, purpose, processing_activity, staff_subject, role, department)"
    " SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])"
    " ON CONFLICT (event_id) DO NOTHING"
)


COPY_FROM = 200
"""From this many rows a table's rows go by COPY into a staging table and one INSERT …
SELECT from it (the same ON CONFLICT): PostgreSQL takes COPY's binary rows at about twice
the rate of unnest over arrays; below it one statement over arrays is fewer round trips."""


@dataclass(frozen=True)
class Staged:
    """The COPY form of a bulk insert: its table, columns and ON CONFLICT tail, read from
    the unnest statement so that both forms stay one statement's meaning."""

    table: str
    into: str
    columns: tuple[str, ...]
    tail: str

    @classmethod
    def of(cls, sql: str) -> Staged:
        into, rest = sql.split(" SELECT ", 1)
        columns = into[into.index("(") + 1 : into.rindex(")")].split(",")
        return cls(
            table=into.split()[2],
            into=into,
            columns=tuple(c.strip() for c in columns),
            tail=rest[rest.index(" ON CONFLICT") :],
        )

    @property
    def stage(self) -> str:
        return f"stage_{self.table}"

    @property
    def create(self) -> str:
        # per session, emptied by every commit or rollback: no DDL per batch
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} (LIKE {self.table} INCLUDING"
            " DEFAULTS) ON COMMIT DELETE ROWS"
        )

    @property
    def insert(self) -> str:
        listed = ", ".join(self.columns)
        # a fresh staging heap reads back in COPY order: the sorted upserts stay sorted
        return f"{self.into} SELECT {listed} FROM {self.stage}{self.tail}"  # noqa: S608 - constants


def _columns(rows: Sequence[Row]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


async def _statement(
    conn: asyncpg.Connection, sql: str, rows: Sequence[Row]
) -> tuple[str, list[list[Any]]]:
    """What inserts `rows`: `sql` with the rows as arrays, or, for many rows of a staged
    statement, its INSERT … SELECT from the staging table the rows were just COPYed into."""
    staged = STAGED.get(sql)
    if staged is None or len(rows) < COPY_FROM:
        return sql, _columns(rows)
    await _copy(conn, staged, rows)
    return staged.insert, []


async def _bulk(conn: asyncpg.Connection, sql: str, rows: Sequence[Row]) -> None:
    """Insert `rows` with `sql` (unnest over arrays), or by COPY and its staged form."""
    if rows:
        query, args = await _statement(conn, sql, rows)
        await conn.execute(query, *args)


async def _copy(conn: asyncpg.Connection, staged: Staged, rows: Sequence[Row]) -> None:
    # The staging table empties at commit: outside a transaction it would be empty before
    # the INSERT reads it, and a second COPY into it in one transaction would insert the
    # first one's rows again. Each statement is staged once per batch transaction.
    if not conn.is_in_transaction():
        raise RuntimeError(f"COPY into {staged.stage} needs a transaction")
    await conn.execute(staged.create)
    await conn.copy_records_to_table(staged.stage, records=rows, columns=staged.columns)


LEDGER = (
    "INSERT INTO processed_events (event_id, event_type, customer_key, source_topic)"
    " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


STAGED = {
    sql: Staged.of(sql)
    for sql in (
        TIMELINE,
        IDENTIFIERS,
        CUSTOMERS,
        HISTORY,
        SIGNALS,
        NOTIFICATIONS,
        ACCESS_LOG,
        LEDGER,
    )
}
"""The statements whose SELECT takes the columns as they are (requests fills two itself)."""


async def record_processed(
    conn: asyncpg.Connection, events: Sequence[tuple[str, Envelope]]
) -> set[str]:
    """Enter (topic, event) pairs in the ledger; returns the ids that were not there yet."""
    rows = [(UUID(e.id), e.type.value, e.subject, topic) for topic, e in events]
    if not rows:
        return set()
    query, args = await _statement(conn, LEDGER, rows)
    return {str(row["event_id"]) for row in await conn.fetch(query, *args)}


async def write_plan(conn: asyncpg.Connection, plan: Plan) -> None:
    """Write every table of the plan; a repeat of a row is harmless (ON CONFLICT).

    Runs inside the caller's transaction, one plan per transaction (the staging tables
    of the COPY path empty at commit).
    """
    await _bulk(conn, TIMELINE, plan.timeline)
    await _bulk(conn, IDENTIFIERS, sorted(plan.identifiers.values()))
    await _bulk(
        conn,
        CUSTOMERS,
        sorted(
            (
                key,
                d.contacts,
                json.dumps(d.channels),
                json.dumps(d.inbound),
                d.first,
                d.last,
                d.last_inbound,
            )
            for key, d in plan.customers.items()
        ),
    )
    await _bulk(conn, REQUESTS, plan.requests)
    await _bulk(conn, HISTORY, plan.history)
    await _bulk(conn, SIGNALS, plan.signals)
    await _bulk(conn, NOTIFICATIONS, plan.notifications)
    await _bulk(conn, ACCESS_LOG, plan.access)
