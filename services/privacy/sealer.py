"""Sealing at the edge: the API seals every event's personal text before Kafka sees it.

The port is a data-key source (`KeyFor`): PostgreSQL in production (`postgres_sealer`),
a dict in tests (`MemoryKeys`). Both pass the same contract tests
(tests/integration/test_sealer_contract.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

import asyncpg

from schemas.envelope import Envelope
from services.privacy import crypto
from services.privacy.keybatch import KeyBatcher, Pair, keys_for
from services.privacy.keycache import KeyCache
from services.privacy.sealing import period_of, plain_fields, seal_event

KeyFor = Callable[[str, date], Awaitable[tuple[str, bytes]]]
KeysFor = Callable[[list[Pair]], Awaitable[dict[Pair, tuple[str, bytes]]]]
DataKeys = dict[tuple[str, date], tuple[str, bytes]]


class SealingUnavailable(Exception):
    """The key store cannot be reached: nothing may be published unsealed, so nothing is.

    Always worth retrying: the text says what is missing, never where it runs."""

    retriable = True
    retry_after = 5

    def __init__(self, message: str = "the key store is unreachable") -> None:
        super().__init__(message)


class Sealer:
    """Seals the personal text of events with the customer's data key for the month."""

    def __init__(self, key_for: KeyFor, keys_for: KeysFor | None = None) -> None:
        self.key_for = key_for
        self.keys_for = keys_for  # many pairs in one call, where the source can

    async def seal(self, events: Sequence[Envelope]) -> list[Envelope]:
        """The events with their plain personal text sealed; raises SealingUnavailable.

        Every (customer, month) pair is asked for once and all at the same time, so a
        batching key source answers a whole batch (and its concurrent callers) at once."""
        pair_of = [(e.subject, period_of(e.time)) if plain_fields(e) else None for e in events]
        pairs = sorted({p for p in pair_of if p is not None})
        if self.keys_for is not None:
            keys = await self.keys_for(pairs) if pairs else {}
        else:
            answers = await asyncio.gather(*(self.key_for(c, p) for c, p in pairs))
            keys = dict(zip(pairs, answers, strict=True))
        return [
            e if pair is None else seal_event(e, *keys[pair])
            for e, pair in zip(events, pair_of, strict=True)
        ]


def postgres_sealer(
    master: bytes, pool: Callable[[], Awaitable[asyncpg.Pool]], cache: KeyCache | None = None
) -> Sealer:
    """Data keys from PostgreSQL (through `cache` while it hears erasures), the pairs of
    concurrent calls fetched or created together (services/privacy/keybatch.py);
    connection trouble becomes SealingUnavailable (→ 503)."""
    cache = cache or KeyCache()

    async def fetch(pairs: list[Pair]) -> dict[Pair, tuple[str, bytes]]:
        try:
            async with (await pool()).acquire(timeout=5) as conn:
                keys = await keys_for(conn, master, pairs)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise SealingUnavailable(
                f"the key store is unreachable ({exc.__class__.__name__})"
            ) from exc
        for (customer_key, period), (key_id, key) in keys.items():
            cache.put(customer_key, period, key_id, key)
        return keys

    batcher = KeyBatcher(fetch)

    async def key_for(customer_key: str, period: date) -> tuple[str, bytes]:
        if (cached := cache.get(customer_key, period)) is not None:
            return cached
        return await batcher(customer_key, period)

    async def many(pairs: list[Pair]) -> dict[Pair, tuple[str, bytes]]:
        keys, missing = {}, []
        for pair in pairs:
            if (cached := cache.get(*pair)) is not None:
                keys[pair] = cached
            else:
                missing.append(pair)
        if missing:
            keys |= await batcher.many(missing)
        return keys

    return Sealer(key_for, many)


class MemoryKeys:
    """Data keys in a dict, for tests without PostgreSQL; while `down` is set every lookup
    raises SealingUnavailable, as the PostgreSQL key store does in an outage."""

    def __init__(self, keys: DataKeys | None = None) -> None:
        self.keys: DataKeys = {} if keys is None else keys
        self.down = False

    async def __call__(self, customer_key: str, period: date) -> tuple[str, bytes]:
        if self.down:
            raise SealingUnavailable("the key store is unreachable (memory key store set down)")
        if (customer_key, period) not in self.keys:
            self.keys[(customer_key, period)] = (crypto.new_key_id(), crypto.new_data_key())
        return self.keys[(customer_key, period)]


def memory_sealer(keys: DataKeys | MemoryKeys | None = None) -> Sealer:
    """Real encryption with keys held in memory: for tests without PostgreSQL."""
    return Sealer(keys if isinstance(keys, MemoryKeys) else MemoryKeys(keys))
