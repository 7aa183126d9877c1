"""Data keys a process sealed with recently, so ingest does not ask PostgreSQL per event —
and forgets them the moment an erasure says so.

An erasure announces itself twice on the PostgreSQL channel `contactmoment_erasure`: before
it deletes the keys (every cache drops them and will not cache them again for a while, so
the next seal reads the database) and when the deletion commits. The cache is used only
while its LISTEN connection is up; when that drops, the cache empties and stays off until
the connection is back, so a missed announcement can never leave a deleted key in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import date

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "contactmoment_erasure"
HOLD_OFF = 120.0  # seconds an announced customer is not cached again
ANNOUNCE_GRACE = 2.0  # the erasure waits this long between its announcement and the delete


class KeyCache:
    def __init__(self, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self.listening = False
        self._keys: dict[tuple[str, date], tuple[str, bytes, float]] = {}
        self._held: dict[str, float] = {}

    def get(self, customer_key: str, period: date) -> tuple[str, bytes] | None:
        entry = self._keys.get((customer_key, period)) if self.listening else None
        if entry is None or entry[2] < self.clock():
            return None
        return entry[0], entry[1]

    def put(self, customer_key: str, period: date, key_id: str, key: bytes) -> None:
        now = self.clock()
        if self.listening and self._held.get(customer_key, 0.0) < now:
            self._keys[(customer_key, period)] = (key_id, key, now + self.ttl)

    def forget(self, customer_keys: list[str]) -> None:
        """An erasure is coming or done: drop these customers' keys and hold off caching."""
        until = self.clock() + HOLD_OFF
        for key in customer_keys:
            self._held[key] = until
        self._keys = {ck: v for ck, v in self._keys.items() if ck[0] not in set(customer_keys)}

    def off(self) -> None:
        """Announcements can no longer be heard: nothing cached may be trusted."""
        self.listening = False
        self._keys.clear()


async def listen(database_url: str, cache: KeyCache, stop: asyncio.Event) -> None:
    """Keep a LISTEN connection for the cache; reconnect with backoff while it is down."""
    delay = 1.0
    while not stop.is_set():
        lost = asyncio.Event()
        try:
            conn = await asyncpg.connect(database_url, timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.info("key cache off: PostgreSQL unreachable for LISTEN (%s)", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 30.0)
            continue
        try:
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener(CHANNEL, lambda *args: cache.forget(str(args[3]).split()))
            cache.listening = True  # only now: whatever came before was not heard
            log.info("key cache on: listening for erasures on %s", CHANNEL)
            delay = 1.0
            waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())}
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
        finally:
            cache.off()
            if not conn.is_closed():
                await conn.close()


async def announce(conn: asyncpg.Connection, customer_keys: list[str]) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, " ".join(customer_keys))
