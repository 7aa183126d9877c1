"""Least privilege on the real PostgreSQL (0005_roles.sql): the api, projector and privacy
roles, connected as the local stack's LOGIN users, each in a private read-model schema."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from services.dev.postgres import process_database_urls
from services.kafka.publisher import MemoryPublisher
from services.privacy.erasure import erase_customer
from services.readmodel.migrate import migrate
from services.settings import Settings


@pytest.fixture
async def schema(settings: Settings, unique: str) -> AsyncIterator[str]:
    name = f"roles_{unique}"
    migrate(settings.database_url, name)  # as the owner
    try:
        yield name
    finally:
        owner = await asyncpg.connect(settings.database_url)
        try:
            await owner.execute(f"DROP SCHEMA {name} CASCADE")
        finally:
            await owner.close()


async def connect_as(settings: Settings, kind: str, schema: str) -> asyncpg.Connection:
    url = process_database_urls(settings.database_url)[f"CONTACTMOMENT_{kind.upper()}_DATABASE_URL"]
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    assert await conn.fetchval("SELECT current_user") != settings.database.user
    return conn


ACCESS_ROW = (
    "INSERT INTO access_log (event_id, occurred_at, customer_key, trace_id, span_id, name,"
    " endpoint, purpose, staff_subject, role) VALUES ($1, now(), $2, 't', 's', 'customer.view',"
    " '/v1/customers', 'test', 'medewerker', 'kcc')"
)
TIMELINE_ROW = (
    "INSERT INTO timeline (event_id, customer_key, occurred_at, event_type, data)"
    " VALUES ($1, $2, now(), 'contact.recorded', '{}')"
)
TAMPERING = (
    "UPDATE access_log SET purpose = 'nothing to see'",
    "DELETE FROM access_log",
    "TRUNCATE access_log",
    "ALTER TABLE access_log DISABLE TRIGGER access_log_append_only",
    "ALTER TABLE access_log DISABLE TRIGGER ALL",
    "DROP TABLE access_log",
)


class Undo(Exception):
    """Raised to roll a transaction back."""


def key() -> str:
    return "k-" + uuid.uuid4().hex


async def test_the_projector_appends_to_the_access_log_and_nobody_may_rewrite_it(
    settings: Settings, schema: str
) -> None:
    projector = await connect_as(settings, "projector", schema)
    try:
        await projector.execute(ACCESS_ROW, uuid.uuid4(), key())
        await projector.execute(TIMELINE_ROW, uuid.uuid4(), key())
        assert await projector.fetchval("SELECT count(*) FROM access_log") == 1
    finally:
        await projector.close()
    for kind in ("api", "projector", "privacy"):
        conn = await connect_as(settings, kind, schema)
        try:
            for statement in TAMPERING:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(statement)
        finally:
            await conn.close()
    owner = await asyncpg.connect(settings.database_url, server_settings={"search_path": schema})
    try:
        assert await owner.fetchval("SELECT count(*) FROM access_log") == 1
    finally:
        await owner.close()


async def test_the_api_reads_the_read_model_and_keeps_data_keys_but_writes_nothing_else(
    settings: Settings, schema: str
) -> None:
    api = await connect_as(settings, "api", schema)
    try:
        assert await api.fetchval("SELECT count(*) FROM requests") == 0
        assert await api.fetchval("SELECT count(*) FROM access_log") == 0
        refused = (
            (TIMELINE_ROW, uuid.uuid4(), key()),
            (ACCESS_ROW, uuid.uuid4(), key()),
            ("INSERT INTO processed_events VALUES ($1, 'x', $2, 't')", uuid.uuid4(), key()),
            ("UPDATE requests SET status = 'resolved'",),
            ("DELETE FROM customers",),
            ("DELETE FROM privacy.data_keys WHERE customer_key = $1", key()),
            ("DELETE FROM privacy.erasures WHERE customer_key = $1", key()),
            ("CREATE TABLE api_was_here (x int)",),
        )
        for statement, *args in refused:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await api.execute(statement, *args)
        owner = key()
        with pytest.raises(Undo):  # the data keys table it does write (undone after)
            async with api.transaction():
                await api.execute(
                    "INSERT INTO privacy.data_keys (key_id, customer_key, period, wrapped)"
                    " VALUES ($1, $2, '1900-01-01', '\\x00')",
                    uuid.uuid4().hex,
                    owner,
                )
                sql = "SELECT count(*) FROM privacy.data_keys WHERE customer_key = $1"
                assert await api.fetchval(sql, owner) == 1
                raise Undo
    finally:
        await api.close()


async def test_the_privacy_role_erases_a_customer(settings: Settings, schema: str) -> None:
    customer = key()
    projector = await connect_as(settings, "projector", schema)
    try:
        await projector.execute(TIMELINE_ROW, uuid.uuid4(), customer)
        await projector.execute(ACCESS_ROW, uuid.uuid4(), customer)
    finally:
        await projector.close()
    privacy = await connect_as(settings, "privacy", schema)
    try:
        report = await erase_customer(privacy, MemoryPublisher(), customer)
        assert report.rows_purged["timeline"] == 1
        assert report.erased_at <= datetime.now(UTC)
        assert await privacy.fetchval("SELECT count(*) FROM access_log") == 1  # kept
    finally:
        await privacy.close()
        owner = await asyncpg.connect(settings.database_url)
        try:
            await owner.execute("DELETE FROM privacy.erasures WHERE customer_key = $1", customer)
        finally:
            await owner.close()
