"""`replay --compare` compares every column a migration creates, except the wall-clock
ones: two read models that differ only in an identifier's provenance (`verified`) differ."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.readmodel.compare import COMPARED, UNCOMPARED, differences
from services.readmodel.migrate import migrate
from services.settings import Settings

KEY = "k-" + "1" * 32
HASH = "a" * 64


@pytest.fixture
async def two(settings: Settings, unique: str) -> AsyncIterator[tuple[str, str]]:
    """Two freshly migrated read models, each with the same customer identifier."""
    left, right = f"cmp_live_{unique}", f"cmp_replay_{unique}"
    for schema in (left, right):
        migrate(settings.database_url, schema)
    conn = await asyncpg.connect(settings.database_url)
    try:
        for schema in (left, right):
            await conn.execute(
                f"INSERT INTO {schema}.customer_identifiers"
                " (customer_key, hash, kind, masked, first_seen, verified)"
                " VALUES ($1, $2, 'email', 'j***@example.nl', '2026-11-30T10:00:00+01:00', false)",
                KEY,
                HASH,
            )
        yield left, right
    finally:
        for schema in (left, right):
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


async def test_equal_read_models_compare_equal(settings: Settings, two: tuple[str, str]) -> None:
    diff = await differences(settings.database_url, *two)
    assert diff == dict.fromkeys(COMPARED, 0)


async def test_a_different_provenance_is_a_difference(
    settings: Settings, two: tuple[str, str]
) -> None:
    left, right = two
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f"UPDATE {right}.customer_identifiers SET verified = true")
    finally:
        await conn.close()
    diff = await differences(settings.database_url, left, right)
    assert diff["customer_identifiers"] == 2  # the live row missing, the replayed one extra
    assert sum(diff.values()) == 2


async def test_every_table_and_column_of_the_read_model_is_compared(
    settings: Settings, two: tuple[str, str]
) -> None:
    left, _ = two
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = $1 AND table_name NOT LIKE '%yoyo%'",
            left,
        )
    finally:
        await conn.close()
    tables = {r["table_name"] for r in rows}
    assert tables == set(COMPARED), "a table of the read model is not compared"
    # Only the wall-clock columns are left out, and each of them exists.
    for table, columns in UNCOMPARED.items():
        assert columns <= {r["column_name"] for r in rows if r["table_name"] == table}
