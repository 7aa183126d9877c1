"""Sealing at the edge: the API seals every event's personal text before Kafka sees it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date

import asyncpg

from schemas.envelope import Envelope
from services.privacy import crypto
from services.privacy.keycache import KeyCache
from services.privacy.keystore import KeyStore
from services.privacy.sealing import period_of, plain_fields, seal_event

KeyFor = Callable[[str, date], Awaitable[tuple[str, bytes]]]


class SealingUnavailable(Exception):
    """The key store cannot be reached: nothing may be published unsealed, so nothing is."""


class Sealer:
    def __init__(self, key_for: KeyFor) -> None:
        self.key_for = key_for

    async def seal(self, events: Sequence[Envelope]) -> list[Envelope]:
        sealed = []
        for event in events:
            if plain_fields(event):
                key_id, key = await self.key_for(event.subject, period_of(event.time))
                event = seal_event(event, key_id, key)
            sealed.append(event)
        return sealed


def postgres_sealer(
    master: bytes, pool: Callable[[], Awaitable[asyncpg.Pool]], cache: KeyCache | None = None
) -> Sealer:
    """Data keys from PostgreSQL (through `cache` while it hears erasures); connection
    trouble becomes SealingUnavailable (→ 503)."""
    store = KeyStore(master)
    cache = cache or KeyCache()

    async def key_for(customer_key: str, period: date) -> tuple[str, bytes]:
        if (cached := cache.get(customer_key, period)) is not None:
            return cached
        try:
            async with (await pool()).acquire(timeout=5) as conn:
                key_id, key = await store.key_for(conn, customer_key, period)
            cache.put(customer_key, period, key_id, key)
            return key_id, key
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise SealingUnavailable(f"key store unreachable ({exc.__class__.__name__})") from exc

    return Sealer(key_for)


def memory_sealer(keys: dict[tuple[str, date], tuple[str, bytes]] | None = None) -> Sealer:
    """Real encryption with keys held in a dict: for tests without PostgreSQL."""
    store = {} if keys is None else keys

    async def key_for(customer_key: str, period: date) -> tuple[str, bytes]:
        if (customer_key, period) not in store:
            store[(customer_key, period)] = (crypto.new_key_id(), crypto.new_data_key())
        return store[(customer_key, period)]

    return Sealer(key_for)
