"""The data keys, in PostgreSQL (schema `privacy`), wrapped by the master key.

The store itself caches nothing: an erasure deletes keys, and a process that kept one would
go on sealing new text with a key that no longer exists. The only cache in front of it is
services/privacy/keycache.py, which forgets a customer's keys the moment an erasure says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import asyncpg

from services.privacy import crypto

SELECT_ONE = "SELECT key_id, wrapped FROM privacy.data_keys WHERE customer_key = $1 AND period = $2"
# One round trip whether the key exists or not: offer a new key, get back whichever is kept.
# (A key committed by a concurrent insert after this statement began is not in its snapshot:
# then the row comes back empty and SELECT_ONE, a statement of its own, sees it.)
OFFER = (
    "WITH offered AS (INSERT INTO privacy.data_keys (key_id, customer_key, period, wrapped)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (customer_key, period) DO NOTHING"
    " RETURNING key_id, wrapped)"
    " SELECT key_id, wrapped FROM offered UNION ALL SELECT key_id, wrapped"
    " FROM privacy.data_keys WHERE customer_key = $2 AND period = $3 LIMIT 1"
)
SELECT_MANY = "SELECT key_id, wrapped FROM privacy.data_keys WHERE key_id = ANY($1::text[])"
SELECT_OWNED = (
    "SELECT key_id, customer_key, wrapped FROM privacy.data_keys WHERE key_id = ANY($1::text[])"
)


class KeyStore:
    """Data keys per (customer key, month); `master` is crypto.master_key(secret)."""

    def __init__(self, master: bytes) -> None:
        self.master = master

    async def key_for(
        self, conn: asyncpg.Connection, customer_key: str, period: date
    ) -> tuple[str, bytes]:
        """The customer's data key for that month, created on first use (race-safe)."""
        key_id = crypto.new_key_id()
        wrapped = crypto.wrap(self.master, key_id, crypto.new_data_key())
        row = await conn.fetchrow(OFFER, key_id, customer_key, period, wrapped)
        if row is None:
            row = await conn.fetchrow(SELECT_ONE, customer_key, period)
        assert row is not None
        return row["key_id"], crypto.unwrap(self.master, row["key_id"], row["wrapped"])

    async def keys(self, conn: asyncpg.Connection, key_ids: Iterable[str]) -> dict[str, bytes]:
        """The data keys that still exist among `key_ids` (erased ones are simply absent)."""
        wanted = sorted(set(key_ids))
        if not wanted:
            return {}
        rows = await conn.fetch(SELECT_MANY, wanted)
        return {r["key_id"]: crypto.unwrap(self.master, r["key_id"], r["wrapped"]) for r in rows}

    async def owned_keys(
        self, conn: asyncpg.Connection, key_ids: Iterable[str]
    ) -> dict[str, tuple[str, bytes]]:
        """key id → (the customer key it belongs to, the data key), for those that exist."""
        wanted = sorted(set(key_ids))
        if not wanted:
            return {}
        rows = await conn.fetch(SELECT_OWNED, wanted)
        return {
            r["key_id"]: (r["customer_key"], crypto.unwrap(self.master, r["key_id"], r["wrapped"]))
            for r in rows
        }
