"""Data keys of concurrent ingest calls are fetched or created together, one key per customer
and month still, even when two processes' batches race for the same customers."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from services.privacy import crypto
from services.privacy.keybatch import KeyBatcher, Pair, keys_for
from services.readmodel.migrate import migrate
from services.settings import Settings

MASTER = crypto.master_key("integration-test-master-secret-0123")
MONTH = date(2127, 3, 1)  # a century ahead: no other test's month


PREFIX = f"kb-{uuid.uuid4().hex[:8]}-"  # this run's customer keys (removed afterwards)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    migrate(settings.database_url, f"keybatch_{uuid.uuid4().hex[:12]}")  # privacy.* exists
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.execute("DELETE FROM privacy.data_keys WHERE customer_key LIKE $1", PREFIX + "%")
        await pool.close()


def batcher_on(pool: asyncpg.Pool) -> KeyBatcher:
    async def fetch(pairs: list[Pair]) -> dict[Pair, tuple[str, bytes]]:
        async with pool.acquire() as conn:
            return await keys_for(conn, MASTER, pairs)

    return KeyBatcher(fetch)


async def test_concurrent_callers_share_statements(pool: asyncpg.Pool) -> None:
    batcher = batcher_on(pool)
    customers = [f"{PREFIX}{i}" for i in range(300)]
    answers = await asyncio.gather(*(batcher(c, MONTH) for c in customers))
    assert batcher.statements <= 3, batcher.statements  # not one per caller
    stored = await pool.fetch(
        "SELECT customer_key, key_id FROM privacy.data_keys WHERE customer_key = ANY($1)",
        customers,
    )
    assert {r["customer_key"]: r["key_id"] for r in stored} == {
        c: kid for c, (kid, _) in zip(customers, answers, strict=True)
    }
    # Asked again: the same keys, nothing new created.
    again = await asyncio.gather(*(batcher(c, MONTH) for c in customers))
    assert again == answers


async def test_two_processes_racing_for_the_same_customers_get_one_key_each(
    pool: asyncpg.Pool,
) -> None:
    customers = [f"{PREFIX}r{i}" for i in range(200)]
    first, second = batcher_on(pool), batcher_on(pool)
    a, b = await asyncio.gather(
        asyncio.gather(*(first(c, MONTH) for c in customers)),
        asyncio.gather(*(second(c, MONTH) for c in reversed(customers))),
    )
    assert list(a) == list(reversed(b))
    count = await pool.fetchval(
        "SELECT count(*) FROM privacy.data_keys WHERE customer_key = ANY($1)", customers
    )
    assert count == len(customers)


async def test_a_failing_statement_fails_every_caller_of_its_batch() -> None:
    async def fetch(pairs: list[Pair]) -> dict[Pair, tuple[str, bytes]]:
        raise OSError("down")

    batcher = KeyBatcher(fetch)
    results = await asyncio.gather(
        *(batcher(f"c{i}", MONTH) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, OSError) for r in results)


async def test_one_callers_many_pairs_and_other_callers_share_a_statement(
    pool: asyncpg.Pool,
) -> None:
    batcher = batcher_on(pool)
    mine = [(f"{PREFIX}m{i}", MONTH) for i in range(400)]
    theirs = [f"{PREFIX}t{i}" for i in range(20)]
    many, *single = await asyncio.gather(batcher.many(mine), *(batcher(c, MONTH) for c in theirs))
    assert batcher.statements == 1
    assert set(many) == set(mine)
    assert len({kid for kid, _ in many.values()} | {kid for kid, _ in single}) == 420
