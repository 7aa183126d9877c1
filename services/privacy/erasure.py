"""Erasure on request (AVG art. 17): delete the customer's data keys, purge the read model.

What stays: the events on Kafka, whose personal text is now ciphertext without a key; the
access log (accountability, AVG art. 5(2): who read the data, under a pseudonymous key); the
erasure record itself, which makes every later replay drop the customer's earlier events.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from schemas.envelope import Envelope, new_event
from schemas.events import CustomerErased, EventType
from services.privacy.keycache import ANNOUNCE_GRACE, announce

# Serialises an erasure with the projector's batches: a batch that began before the erasure
# commits first, or starts after it and sees the erasure.
ERASURE_LOCK = 0x636D_6572  # "cmer"

# Read-model tables with a customer_key column, purged on erasure; the access log is not.
PURGED = (
    "timeline",
    "request_history",
    "signals",
    "notifications",
    "requests",
    "customer_identifiers",
    "customers",
)


@dataclass
class ErasureReport:
    keys: list[str]
    erased_at: datetime
    data_keys_deleted: int = 0
    rows_purged: dict[str, int] = field(default_factory=dict)


async def erase(conn: asyncpg.Connection, keys: list[str]) -> ErasureReport:
    """Erase one customer: its key and every key linked to it (the caller finds them in the
    read model, services/api/read_model.cluster); safe to repeat."""
    # Processes that cache data keys drop these customers' and stop caching them; by the
    # time the keys go, every seal reads the database (services/privacy/keycache.py).
    await announce(conn, keys)
    await asyncio.sleep(ANNOUNCE_GRACE)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", ERASURE_LOCK)
        await announce(conn, keys)  # delivered when the deletion commits
        erased_at = await conn.fetchval("SELECT now()")
        report = ErasureReport(keys, erased_at)
        status = await conn.execute(
            "DELETE FROM privacy.data_keys WHERE customer_key = ANY($1)", keys
        )
        report.data_keys_deleted = int(status.split()[-1])
        for table in PURGED:
            status = await conn.execute(
                f"DELETE FROM {table} WHERE customer_key = ANY($1)",  # noqa: S608 - fixed names
                keys,
            )
            report.rows_purged[table] = int(status.split()[-1])
        await conn.executemany(
            "INSERT INTO privacy.erasures (customer_key, erased_at, keys_deleted, rows_purged)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (customer_key) DO UPDATE"
            " SET erased_at = EXCLUDED.erased_at,"
            " keys_deleted = privacy.erasures.keys_deleted + EXCLUDED.keys_deleted,"
            " rows_purged = privacy.erasures.rows_purged + EXCLUDED.rows_purged",
            [
                (key, erased_at, report.data_keys_deleted, sum(report.rows_purged.values()))
                for key in keys
            ],
        )
    # Deleted rows linger as dead tuples until vacuumed: the wrapped keys must really go.
    await conn.execute("VACUUM privacy.data_keys")
    return report


def erased_events(keys: list[str], erased_at: datetime) -> list[Envelope]:
    """customer.erased for every erased key: the stream worker drops the clocks and the view
    of the erased history. Deterministic ids, so telling it again is harmless."""
    return [
        new_event(
            EventType.CUSTOMER_ERASED,
            source="urn:contactmoment:privacy",
            source_id=f"{key}@{erased_at.isoformat()}",
            subject=key,
            time=erased_at,
            data=CustomerErased(),
        )
        for key in keys
    ]
