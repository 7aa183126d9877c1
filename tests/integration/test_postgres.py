"""The real PostgreSQL of the local stack: migrations and a row written and read back."""

import uuid

import asyncpg
import psycopg

from services.readmodel.migrate import migrate
from services.settings import Settings


def test_migrations_are_applied_once(settings: Settings) -> None:
    migrate(settings.database_url)
    assert migrate(settings.database_url) == []  # second run: nothing pending
    with psycopg.connect(settings.database_url) as conn:
        applied = conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
    assert ("0001_processed_events",) in applied


async def test_row_written_and_read_back(settings: Settings) -> None:
    migrate(settings.database_url)
    event_id = uuid.uuid4()
    conn = await asyncpg.connect(settings.database_url)
    try:
        listen = await conn.fetchval("SHOW listen_addresses")
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO processed_events (event_id, event_type, customer_key, source_topic)"
                " VALUES ($1, $2, $3, $4)",
                event_id,
                "nl.contactmoment.contact.recorded.v1",
                "k-" + "0" * 32,
                "it",
            )
        row = await conn.fetchrow(
            "SELECT event_type, customer_key FROM processed_events WHERE event_id = $1", event_id
        )
        await conn.execute("DELETE FROM processed_events WHERE event_id = $1", event_id)
    finally:
        await conn.close()
    assert listen == "127.0.0.1"
    assert dict(row) == {
        "event_type": "nl.contactmoment.contact.recorded.v1",
        "customer_key": "k-" + "0" * 32,
    }


async def test_the_ledger_refuses_a_bsn_as_customer_key(settings: Settings) -> None:
    migrate(settings.database_url)
    conn = await asyncpg.connect(settings.database_url)
    try:
        try:
            await conn.execute(
                "INSERT INTO processed_events (event_id, event_type, customer_key, source_topic)"
                " VALUES ($1, 'x', '111222333', 'it')",
                uuid.uuid4(),
            )
        except asyncpg.CheckViolationError:
            refused = True
        else:
            refused = False
    finally:
        await conn.close()
    assert refused
