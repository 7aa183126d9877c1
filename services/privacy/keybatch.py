"""Data keys for many (customer, month) pairs in one statement, shared by concurrent calls.

Every new caller of the month needs a data key: one INSERT round trip per event made the
key store the ingest path's bottleneck. `KeyBatcher` collects the pairs every concurrent
request is waiting for and fetches-or-creates them in one statement; pairs asked for while
that statement runs go into the next one. A quiet API pays no delay (a lone pair goes at
once); a busy one pays one round trip for many callers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import date

import asyncpg

from services.privacy import crypto

Pair = tuple[str, date]

# Offer a new key for every pair and get back whichever is kept, in one round trip. Pairs are
# offered in a fixed order, so two concurrent statements wait on each other's rows in the
# same order and cannot deadlock. A key committed by a concurrent statement after this one
# began is in neither half of the answer: `keys_for` reads those with SELECT_PAIRS.
OFFER_MANY = (
    "WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::bytea[])"
    " AS w(key_id, customer_key, period, wrapped)),"
    " offered AS (INSERT INTO privacy.data_keys (key_id, customer_key, period, wrapped)"
    " SELECT key_id, customer_key, period, wrapped FROM wanted"
    " ON CONFLICT (customer_key, period) DO NOTHING"
    " RETURNING customer_key, period, key_id, wrapped)"
    " SELECT customer_key, period, key_id, wrapped FROM offered UNION ALL"
    " SELECT d.customer_key, d.period, d.key_id, d.wrapped FROM privacy.data_keys d"
    " JOIN wanted w ON d.customer_key = w.customer_key AND d.period = w.period"
)
SELECT_PAIRS = (
    "SELECT d.customer_key, d.period, d.key_id, d.wrapped FROM privacy.data_keys d"
    " JOIN unnest($1::text[], $2::date[]) AS w(customer_key, period)"
    " ON d.customer_key = w.customer_key AND d.period = w.period"
)


async def keys_for(
    conn: asyncpg.Connection, master: bytes, pairs: Iterable[Pair]
) -> dict[Pair, tuple[str, bytes]]:
    """Each pair's data key, created where the pair has none yet (race-safe)."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    key_ids = [crypto.new_key_id() for _ in wanted]
    wrapped = [crypto.wrap(master, k, crypto.new_data_key()) for k in key_ids]
    rows = await conn.fetch(
        OFFER_MANY, key_ids, [c for c, _ in wanted], [p for _, p in wanted], wrapped
    )
    found = {(r["customer_key"], r["period"]): (r["key_id"], r["wrapped"]) for r in rows}
    if missing := [pair for pair in wanted if pair not in found]:
        rows = await conn.fetch(SELECT_PAIRS, [c for c, _ in missing], [p for _, p in missing])
        found |= {(r["customer_key"], r["period"]): (r["key_id"], r["wrapped"]) for r in rows}
    if len(found) != len(wanted):  # a key erased between the two statements: ask again
        return found | await keys_for(conn, master, [p for p in wanted if p not in found])
    return {pair: (kid, crypto.unwrap(master, kid, w)) for pair, (kid, w) in found.items()}


class KeyBatcher:
    """`await batcher(customer_key, period)` → (key id, data key); concurrent awaits share
    one statement. `fetch` does the statement (keys_for on a pooled connection); whatever it
    raises is raised to every caller of that batch."""

    def __init__(
        self, fetch: Callable[[list[Pair]], Awaitable[dict[Pair, tuple[str, bytes]]]]
    ) -> None:
        self.fetch = fetch
        self._pending: dict[Pair, asyncio.Future[tuple[str, bytes]]] = {}
        self._running: asyncio.Task[None] | None = None
        self.statements = 0  # how many batches were fetched (tests and benchmarks read it)

    async def __call__(self, customer_key: str, period: date) -> tuple[str, bytes]:
        future = self._want((customer_key, period))
        # shield: one caller giving up (a client gone) must not cancel the others' answer
        return await asyncio.shield(future)

    async def many(self, pairs: list[Pair]) -> dict[Pair, tuple[str, bytes]]:
        """Several pairs for one caller: one wait for all of them (no task per pair)."""
        futures = [self._want(pair) for pair in pairs]
        answers = await asyncio.shield(asyncio.gather(*futures))
        return dict(zip(pairs, answers, strict=True))

    def _want(self, pair: Pair) -> asyncio.Future[tuple[str, bytes]]:
        future = self._pending.get(pair)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[pair] = future
        if self._running is None:
            self._running = asyncio.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        try:
            # Let every request that is ready this loop turn add its pairs first.
            await asyncio.sleep(0)
            while self._pending:
                batch, self._pending = self._pending, {}
                self.statements += 1
                try:
                    keys = await self.fetch(list(batch))
                except Exception as exc:
                    for future in batch.values():
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:
                    for future in batch.values():
                        future.cancel()
                    raise
                for pair, future in batch.items():
                    if not future.done():
                        future.set_result(keys[pair])
        finally:
            self._running = None
