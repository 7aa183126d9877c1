"""What the projector does with sealed text, on the real database: it opens it with the
customer's data key, leaves text past its retention closed, and drops what an erasure
removed — live and on replay alike (both go through apply_batch)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from schemas.envelope import Envelope
from schemas.keys import Pseudonymiser
from schemas.sealed import ERASED
from services.ingest.phone import PhoneCall, map_phone_call
from services.privacy.crypto import master_key
from services.privacy.keystore import KeyStore
from services.privacy.sealing import period_of, seal_event
from services.projector.apply import ProjectionConfig, apply_batch
from services.readmodel.migrate import migrate
from services.readmodel.pool import connect_pool
from services.settings import Settings

MASTER = master_key("projector-privacy-test-master-key")
NOTES = "Mevrouw belt over de rolstoeltoegankelijkheid van de balie"


async def sealed_call(settings: Settings, when: datetime) -> list[Envelope]:
    """A phone call with notes, sealed with a data key from the real key store."""
    tag = uuid.uuid4().hex[:10]
    call = PhoneCall.model_validate(
        {
            "call_id": f"privacy-{tag}",
            "direction": "inbound",
            "caller": f"0612{int(tag[:6], 16) % 1_000_000:06d}",
            "started_at": when.isoformat(),
            "queue": "KCC",
            "agent": "medewerker-03",
            "subject": "balie",
            "notes": NOTES,
            "outcome": "answered",
        }
    )
    events = map_phone_call(call, Pseudonymiser(f"privacy-test-{tag}")).events
    conn = await asyncpg.connect(settings.database_url)
    try:
        sealed = []
        for event in events:
            key_id, key = await KeyStore(MASTER).key_for(conn, event.subject, period_of(event.time))
            sealed.append(seal_event(event, key_id, key))
        return sealed
    finally:
        await conn.close()


@pytest.fixture
async def pool(settings: Settings, unique: str) -> AsyncIterator[asyncpg.Pool]:
    schema = f"privacy_{unique}"
    migrate(settings.database_url, schema)
    pool = await connect_pool(settings.database_url, schema)
    try:
        yield pool
    finally:
        await pool.close()
        conn = await asyncpg.connect(settings.database_url)
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


def batch(events: list[Envelope]) -> list[tuple[str, Envelope]]:
    return [("contact.events.v1", e) for e in events]


def config(settings: Settings, **changes: object) -> ProjectionConfig:
    """The deployment's projection settings, with this test's master key."""
    return dataclasses.replace(ProjectionConfig.from_settings(settings), master=MASTER, **changes)


async def test_sealed_text_is_opened_for_the_read_model(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    events = await sealed_call(settings, datetime.now(UTC) - timedelta(minutes=5))
    assert NOTES not in events[0].model_dump_json()  # sealed going in
    await apply_batch(pool, batch(events), config(settings))
    row = await pool.fetchrow(
        "SELECT summary, data FROM timeline WHERE customer_key = $1", events[0].subject
    )
    masked = await pool.fetchval(
        "SELECT masked FROM customer_identifiers WHERE customer_key = $1", events[0].subject
    )
    assert row["summary"] == NOTES and NOTES in row["data"]
    assert masked.startswith("+31") and "*" in masked


async def test_text_past_its_retention_stays_closed(settings: Settings, pool: asyncpg.Pool) -> None:
    when = datetime.now(UTC) - timedelta(days=10)
    events = await sealed_call(settings, when)
    await apply_batch(
        pool,
        batch(events),
        config(settings, retention=timedelta(days=7)),  # the call is older than the horizon
    )
    row = await pool.fetchrow(
        "SELECT summary, data FROM timeline WHERE customer_key = $1", events[0].subject
    )
    masked = await pool.fetchval(
        "SELECT masked FROM customer_identifiers WHERE customer_key = $1", events[0].subject
    )
    assert row is not None  # the fact of the contact stays …
    assert row["summary"] is None and NOTES not in row["data"]  # … its text does not
    assert masked == ERASED


async def test_an_erased_customer_does_not_come_back(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    produced = datetime.now(UTC) - timedelta(minutes=1)
    events = await sealed_call(settings, produced)
    key = events[0].subject
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(
            "INSERT INTO privacy.erasures (customer_key, erased_at, keys_deleted, rows_purged)"
            " VALUES ($1, now(), 1, 0)",
            key,
        )
        later = await sealed_call(settings, datetime.now(UTC))  # another customer, untouched
        times = {e.id: produced for e in events} | {
            e.id: datetime.now(UTC) + timedelta(seconds=1) for e in later
        }
        await apply_batch(pool, batch(events + later), config(settings), produced=times)
        gone = await pool.fetchval("SELECT count(*) FROM timeline WHERE customer_key = $1", key)
        kept = await pool.fetchval(
            "SELECT count(*) FROM timeline WHERE customer_key = $1", later[0].subject
        )
        # Recorded after the erasure (a new contact of the same person): projected.
        fresh = [e.model_copy(update={"id": str(uuid.uuid4())}) for e in events]
        await apply_batch(
            pool,
            batch(fresh),
            config(settings),
            produced={e.id: datetime.now(UTC) + timedelta(seconds=1) for e in fresh},
        )
        again = await pool.fetchval("SELECT count(*) FROM timeline WHERE customer_key = $1", key)
    finally:
        await conn.execute("DELETE FROM privacy.erasures WHERE customer_key = $1", key)
        await conn.close()
    assert (gone, kept, again) == (0, 1, 1)
