"""The read model's side of an erasure: purge a customer's rows and data keys, record the
erasure, and what later batches ask of those records.

The erasure record stays (privacy.erasures): every later batch and every replay drops the
erased customer's earlier events by it. The access log is not purged: it is the evidence
of who read the data.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

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


async def hold_off_erasures(conn: asyncpg.Connection) -> None:
    """Inside a batch's transaction: no erasure runs until it commits (and it waits for one
    that runs)."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", ERASURE_LOCK)


async def wait_for_batches(conn: asyncpg.Connection) -> datetime:
    """Inside the erasure's transaction: wait for the batches in flight, keep new ones out
    until commit; returns the erasure's instant (the transaction's)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", ERASURE_LOCK)
    erased_at: datetime = await conn.fetchval("SELECT now()")
    return erased_at


def _count(status: str) -> int:
    return int(status.split()[-1])  # "DELETE 3" → 3


async def delete_data_keys(conn: asyncpg.Connection, keys: list[str]) -> int:
    """Delete the customers' data keys: their text on Kafka can no longer be opened."""
    return _count(
        await conn.execute("DELETE FROM privacy.data_keys WHERE customer_key = ANY($1)", keys)
    )


async def purge(conn: asyncpg.Connection, keys: list[str]) -> dict[str, int]:
    """Delete the customers' rows from every purged table; rows deleted per table."""
    purged = {}
    for table in PURGED:
        status = await conn.execute(
            f"DELETE FROM {table} WHERE customer_key = ANY($1)",  # noqa: S608 - fixed names
            keys,
        )
        purged[table] = _count(status)
    return purged


LINKED = "nl.contactmoment.customer.linked.v1"


async def carried_weak_keys(conn: asyncpg.Connection, keys: list[str]) -> list[str]:
    """The e-mail and phone keys these customers carry (before their rows go)."""
    rows = await conn.fetch(
        "SELECT DISTINCT 'k-' || left(hash, 32) AS weak FROM customer_identifiers"
        " WHERE customer_key = ANY($1) AND kind IN ('email', 'phone')",
        keys,
    )
    return sorted({r["weak"] for r in rows} - set(keys))


async def unlink(conn: asyncpg.Connection, keys: list[str]) -> dict[str, int]:
    """A weak key the erased customers did not own alone (shared, or never verified as
    theirs) loses only the link: the identifier rows and customer.linked entries of other
    keys that name an erased key's BSN or KvK. Its own history stays."""
    identifiers = await conn.execute(
        "DELETE FROM customer_identifiers WHERE customer_key <> ALL($1)"
        " AND kind IN ('bsn', 'kvk') AND 'k-' || left(hash, 32) = ANY($1)",
        keys,
    )
    timeline = await conn.execute(
        "DELETE FROM timeline t WHERE t.customer_key <> ALL($1) AND t.event_type = $2"
        " AND EXISTS (SELECT 1 FROM jsonb_array_elements(t.data->'identifiers') i"
        "  WHERE i->>'kind' IN ('bsn', 'kvk') AND 'k-' || left(i->>'hash', 32) = ANY($1))",
        keys,
        LINKED,
    )
    return {"customer_identifiers": _count(identifiers), "timeline": _count(timeline)}


async def drop_orphans(conn: asyncpg.Connection, weak_keys: list[str]) -> int:
    """Weak keys that were nothing but a link (no history of their own, no other strong key
    carrying them) keep no identifier rows once the link is gone."""
    return _count(
        await conn.execute(
            "DELETE FROM customer_identifiers ci WHERE ci.customer_key = ANY($1)"
            " AND NOT EXISTS (SELECT 1 FROM timeline t WHERE t.customer_key = ci.customer_key)"
            " AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_key = ci.customer_key)"
            " AND NOT EXISTS (SELECT 1 FROM customer_identifiers s"
            "  WHERE s.customer_key = ci.customer_key AND s.kind IN ('bsn', 'kvk'))",
            weak_keys,
        )
    )


async def record(
    conn: asyncpg.Connection,
    keys: list[str],
    erased_at: datetime,
    data_keys_deleted: int,
    rows_purged: int,
) -> None:
    """Record the erasure of each key (a repeat moves the instant and adds to the counts)."""
    await conn.executemany(
        "INSERT INTO privacy.erasures (customer_key, erased_at, keys_deleted, rows_purged)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (customer_key) DO UPDATE"
        " SET erased_at = EXCLUDED.erased_at,"
        " keys_deleted = privacy.erasures.keys_deleted + EXCLUDED.keys_deleted,"
        " rows_purged = privacy.erasures.rows_purged + EXCLUDED.rows_purged",
        [(key, erased_at, data_keys_deleted, rows_purged) for key in keys],
    )


async def vacuum_data_keys(conn: asyncpg.Connection) -> None:
    """Deleted rows linger as dead tuples until vacuumed: the wrapped keys must really go.
    (Outside a transaction.)"""
    await conn.execute("VACUUM privacy.data_keys")


async def erased(conn: asyncpg.Connection, keys: set[str]) -> dict[str, datetime]:
    """When each of these customers was erased (only those that were)."""
    rows = await conn.fetch(
        "SELECT customer_key, erased_at FROM privacy.erasures WHERE customer_key = ANY($1)",
        sorted(keys),
    )
    return {r["customer_key"]: r["erased_at"] for r in rows}
