"""Data keys, retention and erasure against the real PostgreSQL, each test in a private
read-model schema. The privacy.* tables are shared by every schema: these tests use
customer keys of their own (and months centuries ago for retention), and remove them after."""

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from schemas.envelope import decode
from schemas.sealed import ERASED
from services.kafka.publisher import MemoryPublisher
from services.privacy import crypto, erasure, retention
from services.privacy.keystore import KeyStore
from services.privacy.sealing import period_of
from services.readmodel import customers
from services.readmodel.migrate import migrate
from services.settings import Settings

MASTER = crypto.master_key("integration-test-master-secret-0123")


@pytest.fixture
async def schema(settings: Settings, unique: str) -> AsyncIterator[str]:
    name = f"privacy_{unique}"
    migrate(settings.database_url, name)
    try:
        yield name
    finally:
        admin = await asyncpg.connect(settings.database_url)
        try:
            await admin.execute(f"DROP SCHEMA {name} CASCADE")
        finally:
            await admin.close()


@pytest.fixture
async def conn(settings: Settings, schema: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(
        settings.database_url, server_settings={"search_path": schema}
    )
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def customer(settings: Settings) -> AsyncIterator[Callable[[], str]]:
    """Fresh customer keys; their rows in the shared privacy.* tables go at the end."""
    made: list[str] = []

    def new() -> str:
        made.append("k-" + uuid.uuid4().hex)
        return made[-1]

    yield new
    admin = await asyncpg.connect(settings.database_url)
    try:
        await admin.execute("DELETE FROM privacy.data_keys WHERE customer_key = ANY($1)", made)
        await admin.execute("DELETE FROM privacy.erasures WHERE customer_key = ANY($1)", made)
    finally:
        await admin.close()


def month(year: int, m: int) -> date:
    return date(year + (m - 1) // 12, (m - 1) % 12 + 1, 1)


# -- data keys ----------------------------------------------------------------------------


async def test_one_key_per_customer_and_month_created_once(
    conn: asyncpg.Connection, customer: Callable[[], str]
) -> None:
    store = KeyStore(MASTER)
    a, b = customer(), customer()
    nov, dec = date(2026, 11, 1), date(2026, 12, 1)
    first = await store.key_for(conn, a, nov)
    assert await store.key_for(conn, a, nov) == first
    assert await KeyStore(MASTER).key_for(conn, a, nov) == first  # nothing cached
    other_month = await store.key_for(conn, a, dec)
    other_customer = await store.key_for(conn, b, nov)
    assert len({first[0], other_month[0], other_customer[0]}) == 3
    assert len({first[1], other_month[1], other_customer[1]}) == 3
    rows = await conn.fetch(
        "SELECT key_id, customer_key, period, wrapped FROM privacy.data_keys"
        " WHERE customer_key = ANY($1) ORDER BY customer_key, period",
        [a, b],
    )
    assert sorted((r["customer_key"], r["period"]) for r in rows) == sorted(
        [(a, nov), (a, dec), (b, nov)]
    )
    stored = {r["key_id"]: bytes(r["wrapped"]) for r in rows}
    assert first[1] not in stored[first[0]]  # wrapped, never the key itself
    assert crypto.unwrap(MASTER, first[0], stored[first[0]]) == first[1]


async def test_two_first_uses_at_once_get_the_same_key(
    settings: Settings, schema: str, customer: Callable[[], str]
) -> None:
    key = customer()
    conns = [
        await asyncpg.connect(settings.database_url, server_settings={"search_path": schema})
        for _ in range(2)
    ]
    try:
        got = await asyncio.gather(
            *(KeyStore(MASTER).key_for(c, key, date(2026, 11, 1)) for c in conns)
        )
    finally:
        for c in conns:
            await c.close()
    assert got[0] == got[1]


async def test_keys_returns_only_those_that_exist(
    conn: asyncpg.Connection, customer: Callable[[], str]
) -> None:
    store = KeyStore(MASTER)
    one = await store.key_for(conn, customer(), date(2026, 10, 1))
    two = await store.key_for(conn, customer(), date(2026, 10, 1))
    unknown = crypto.new_key_id()
    assert await store.keys(conn, [one[0], unknown, two[0], one[0]]) == dict([one, two])
    assert await store.keys(conn, [unknown]) == {}
    assert await store.keys(conn, []) == {}


async def test_another_master_key_cannot_open_the_stored_keys(
    conn: asyncpg.Connection, customer: Callable[[], str]
) -> None:
    key = customer()
    key_id, _ = await KeyStore(MASTER).key_for(conn, key, date(2026, 9, 1))
    stranger = KeyStore(crypto.master_key("some-other-deployment-secret"))
    with pytest.raises(crypto.Unreadable):
        await stranger.keys(conn, [key_id])
    with pytest.raises(crypto.Unreadable):
        await stranger.key_for(conn, key, date(2026, 9, 1))


# -- retention ----------------------------------------------------------------------------


async def add_timeline(
    conn: asyncpg.Connection,
    key: str,
    at: datetime,
    summary: str | None,
    data: dict[str, Any],
) -> uuid.UUID:
    event_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO timeline (event_id, customer_key, occurred_at, event_type, channel,"
        " direction, subject, outcome, request_id, summary, data)"
        " VALUES ($1, $2, $3, 'nl.contactmoment.contact.recorded.v1', 'phone', 'inbound',"
        " 'parkeervergunning', 'answered', 'r-1', $4, $5::jsonb)",
        event_id,
        key,
        at,
        summary,
        json.dumps(data),
    )
    return event_id


async def add_history(
    conn: asyncpg.Connection, key: str, at: datetime, data: dict[str, Any]
) -> uuid.UUID:
    event_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO request_history (event_id, request_id, customer_key, event_type,"
        " occurred_at, data) VALUES ($1, 'r-1', $2, 'nl.contactmoment.request.reopened.v1',"
        " $3, $4::jsonb)",
        event_id,
        key,
        at,
        json.dumps(data),
    )
    return event_id


async def snapshot(conn: asyncpg.Connection, key: str) -> tuple[list[Any], ...]:
    timeline = await conn.fetch("SELECT * FROM timeline ORDER BY event_id")
    history = await conn.fetch("SELECT * FROM request_history ORDER BY event_id")
    keys = await conn.fetch(
        "SELECT key_id, period FROM privacy.data_keys WHERE customer_key = $1 ORDER BY period",
        key,
    )
    return [dict(r) for r in timeline], [dict(r) for r in history], [dict(r) for r in keys]


async def test_retention_shreds_old_keys_and_strips_old_text(
    conn: asyncpg.Connection, customer: Callable[[], str], unique: str
) -> None:
    # Months centuries ago, so no other key in the shared table is past this horizon.
    year = 1100 + int(unique[:6], 16) % 800
    now = datetime(year + 2, 3, 15, 12, tzinfo=UTC)
    horizon, first_kept = retention.horizon_of(now, 730)
    assert period_of(horizon) == first_kept
    before_us = await conn.fetchval(
        "SELECT count(*) FROM privacy.data_keys WHERE period < $1", first_kept
    )

    key = customer()
    store = KeyStore(MASTER)
    months = [month(first_kept.year, first_kept.month + d) for d in (-2, -1, 0, 1)]
    ids = {m: (await store.key_for(conn, key, m))[0] for m in months}

    day = timedelta(days=1)
    text = {"summary": "oude notitie", "note": "n", "reason": "r", "comment": "c"}
    facts = {"channel": "phone", "subject": "parkeervergunning", "outcome": "answered"}
    old = await add_timeline(conn, key, horizon - day, "oude notitie", {**facts, **text})
    old_note = await add_timeline(conn, key, horizon - day, None, {**facts, "note": "n"})
    old_bare = await add_timeline(conn, key, horizon - 30 * day, None, facts)
    new = await add_timeline(conn, key, horizon + day, "nieuw", {**facts, "summary": "nieuw"})
    edge = await add_timeline(conn, key, horizon, "op de grens", {**facts, "comment": "c"})
    old_history = await add_history(conn, key, horizon - day, {"request_id": "r-1", "reason": "x"})
    bare_history = await add_history(conn, key, horizon - day, {"request_id": "r-1"})
    new_history = await add_history(conn, key, horizon + day, {"request_id": "r-1", "reason": "y"})

    before = await snapshot(conn, key)
    dry = await retention.enforce(conn, now, 730, dry_run=True)
    assert await snapshot(conn, key) == before
    assert dry.horizon == horizon
    assert (dry.data_keys_deleted, dry.timeline_rows, dry.history_rows) == (before_us + 2, 2, 1)

    done = await retention.enforce(conn, now, 730)
    assert (done.data_keys_deleted, done.timeline_rows, done.history_rows) == (
        dry.data_keys_deleted,
        dry.timeline_rows,
        dry.history_rows,
    )
    left = await conn.fetch(
        "SELECT key_id, period FROM privacy.data_keys WHERE customer_key = $1", key
    )
    assert {r["period"] for r in left} == set(months[2:])
    assert set(await store.keys(conn, ids.values())) == {ids[months[2]], ids[months[3]]}

    rows = {r["event_id"]: r for r in await conn.fetch("SELECT * FROM timeline")}
    for stripped, expected in ((old, {**facts, "reason": ERASED}), (old_note, facts)):
        row = rows[stripped]
        assert row["summary"] is None
        data = json.loads(row["data"])
        # what a replay makes of it: optional text gone, a required reason reads ERASED
        assert data == expected
        assert (row["channel"], row["direction"], row["subject"], row["outcome"]) == (
            "phone",
            "inbound",
            "parkeervergunning",
            "answered",
        )
        assert (row["request_id"], row["customer_key"]) == ("r-1", key)
    assert json.loads(rows[old_bare]["data"]) == facts
    assert (rows[new]["summary"], json.loads(rows[new]["data"])["summary"]) == ("nieuw", "nieuw")
    assert rows[edge]["summary"] == "op de grens"
    assert json.loads(rows[edge]["data"])["comment"] == "c"
    history = {
        r["event_id"]: json.loads(r["data"])
        for r in await conn.fetch("SELECT event_id, data FROM request_history")
    }
    assert history[old_history] == {"request_id": "r-1", "reason": ERASED}
    assert history[bare_history] == {"request_id": "r-1"}
    assert history[new_history] == {"request_id": "r-1", "reason": "y"}

    again = await retention.enforce(conn, now, 730)
    assert (again.timeline_rows, again.history_rows) == (0, 0)


async def test_retention_forgets_identifier_displays_no_recent_row_shows(
    conn: asyncpg.Connection, customer: Callable[[], str]
) -> None:
    now = datetime.now(UTC)
    horizon, _ = retention.horizon_of(now, 730)
    key = customer()
    only_old, still_shown = "a" * 64, "b" * 64

    def ident(h: str, masked: str) -> dict[str, str]:
        return {"kind": "email", "hash": h, "masked": masked}

    for h, masked in ((only_old, "o***@example.nl"), (still_shown, "s***@example.nl")):
        await conn.execute(
            "INSERT INTO customer_identifiers (customer_key, hash, kind, masked, first_seen)"
            " VALUES ($1, $2, 'email', $3, $4)",
            key,
            h,
            masked,
            horizon - timedelta(days=40),
        )
    old = await add_timeline(
        conn,
        key,
        horizon - timedelta(days=40),
        None,
        {
            "identifiers": [
                ident(only_old, "o***@example.nl"),
                ident(still_shown, "s***@example.nl"),
            ]
        },
    )
    new = await add_timeline(
        conn,
        key,
        horizon + timedelta(days=1),
        None,
        {"identifiers": [ident(still_shown, "s***@example.nl")]},
    )
    report = await retention.enforce(conn, now, 730)
    assert report.identifiers >= 1
    shown = {
        r["hash"]: r["masked"]
        for r in await conn.fetch(
            "SELECT hash, masked FROM customer_identifiers WHERE customer_key = $1", key
        )
    }
    assert shown == {only_old: ERASED, still_shown: "s***@example.nl"}
    rows = {
        r["event_id"]: json.loads(r["data"])
        for r in await conn.fetch(
            "SELECT event_id, data FROM timeline WHERE customer_key = $1", key
        )
    }
    assert [i["masked"] for i in rows[old]["identifiers"]] == [ERASED, ERASED]
    assert [i["masked"] for i in rows[new]["identifiers"]] == ["s***@example.nl"]


# -- the access log -----------------------------------------------------------------------


async def add_access(conn: asyncpg.Connection, key: str) -> uuid.UUID:
    event_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO access_log (event_id, occurred_at, customer_key, trace_id, span_id, name,"
        " endpoint, purpose, processing_activity, staff_subject, role, department)"
        " VALUES ($1, now(), $2, $3, $4, 'klantbeeld raadplegen', 'GET /v1/customers/{key}',"
        " 'klantcontact', NULL, 'medewerker-07', 'kcc', NULL)",
        event_id,
        key,
        secrets.token_hex(16),
        secrets.token_hex(8),
    )
    return event_id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log SET purpose = 'iets anders'",
        "UPDATE access_log SET customer_key = 'k-' || repeat('0', 32) WHERE event_id = $1",
        "DELETE FROM access_log WHERE event_id = $1",
        "DELETE FROM access_log",
        "TRUNCATE access_log",
    ],
)
async def test_the_access_log_is_append_only(
    conn: asyncpg.Connection, customer: Callable[[], str], statement: str
) -> None:
    event_id = await add_access(conn, customer())
    before = [dict(r) for r in await conn.fetch("SELECT * FROM access_log")]
    args = [event_id] if "$1" in statement else []
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await conn.execute(statement, *args)
    assert [dict(r) for r in await conn.fetch("SELECT * FROM access_log")] == before


# -- erasure ------------------------------------------------------------------------------


async def add_customer_rows(conn: asyncpg.Connection, key: str, tag: str) -> None:
    """One row in every purged table for `key`."""
    now = datetime.now(UTC)
    request_id = f"r-{tag}-{key[-8:]}"
    await conn.execute(
        "INSERT INTO customers (customer_key, contact_count, channels) VALUES ($1, 1, $2::jsonb)",
        key,
        '{"phone": 1}',
    )
    await add_timeline(conn, key, now, "notitie", {"summary": "notitie"})
    await conn.execute(
        "INSERT INTO requests (request_id, customer_key, request_type, subject, channel,"
        " opened_at, status, updated_at) VALUES ($1, $2, 'callback', 'wmo', 'phone', $3,"
        " 'open', $3)",
        request_id,
        key,
        now,
    )
    await conn.execute(
        "INSERT INTO request_history (event_id, request_id, customer_key, event_type,"
        " occurred_at, data) VALUES ($1, $2, $3, 'x', $4, '{}'::jsonb)",
        uuid.uuid4(),
        request_id,
        key,
        now,
    )
    await conn.execute(
        "INSERT INTO signals (event_id, request_id, customer_key, event_type, occurred_at,"
        " data) VALUES ($1, $2, $3, 'nl.contactmoment.deadline.warning.v1', $4, '{}'::jsonb)",
        uuid.uuid4(),
        request_id,
        key,
        now,
    )
    await conn.execute(
        "INSERT INTO notifications (event_id, notification_id, customer_key, kind, audience,"
        " request_id, message, occurred_at) VALUES ($1, $2, $3, 'callback-missed', 'staff',"
        " $4, 'bel terug', $5)",
        uuid.uuid4(),
        f"n-{uuid.uuid4().hex}",
        key,
        request_id,
        now,
    )


async def add_identifier(
    conn: asyncpg.Connection, key: str, hash_: str, kind: str, verified: bool = True
) -> None:
    await conn.execute(
        "INSERT INTO customer_identifiers (customer_key, hash, kind, masked, first_seen, verified)"
        " VALUES ($1, $2, $3, '***', now(), $4)",
        key,
        hash_,
        kind,
        verified,
    )


async def counts(conn: asyncpg.Connection, keys: list[str]) -> dict[str, int]:
    return {
        table: await conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE customer_key = ANY($1)", keys
        )
        for table in (*erasure.PURGED, "access_log")
    }


async def linked(conn: asyncpg.Connection, key: str) -> list[str]:
    """The keys `contactmoment privacy erase` erases: the customer and its linked keys."""
    group = await customers.cluster(conn, key)
    return group.keys if group else [key]


async def test_erasure_deletes_keys_and_rows_of_the_customer_and_linked_keys_only(
    conn: asyncpg.Connection,
) -> None:
    # A BSN key that carries an e-mail address, which is a (weak) key of its own too.
    bsn_hash, email_hash, other_hash = (secrets.token_hex(32) for _ in range(3))
    root, weak, bystander = "k-" + bsn_hash[:32], "k-" + email_hash[:32], "k-" + other_hash[:32]
    await add_identifier(conn, root, bsn_hash, "bsn")
    await add_identifier(conn, root, email_hash, "email")
    await add_identifier(conn, weak, email_hash, "email")
    await add_identifier(conn, bystander, other_hash, "bsn")
    for key in (root, weak, bystander):
        await add_customer_rows(conn, key, "e")
        await add_access(conn, key)
    store = KeyStore(MASTER)
    erased_ids = [
        (await store.key_for(conn, root, date(2026, 10, 1)))[0],
        (await store.key_for(conn, root, date(2026, 11, 1)))[0],
        (await store.key_for(conn, weak, date(2026, 11, 1)))[0],
    ]
    kept_id = (await store.key_for(conn, bystander, date(2026, 11, 1)))[0]
    bystander_before = await counts(conn, [bystander])
    try:
        report = await erasure.erase(conn, await linked(conn, root))

        assert report.keys == [root, weak]
        assert report.data_keys_deleted == 3
        assert report.rows_purged == {
            "timeline": 2,
            "request_history": 2,
            "signals": 2,
            "notifications": 2,
            "requests": 2,
            "customer_identifiers": 3,
            "customers": 2,
        }
        assert await store.keys(conn, [*erased_ids, kept_id]) == {
            kept_id: (await store.key_for(conn, bystander, date(2026, 11, 1)))[1]
        }
        after = await counts(conn, [root, weak])
        assert {t: after[t] for t in erasure.PURGED} == dict.fromkeys(erasure.PURGED, 0)
        assert after["access_log"] == 2  # the evidence of who read the data stays
        assert await counts(conn, [bystander]) == bystander_before

        erasures = await conn.fetch(
            "SELECT customer_key, erased_at, keys_deleted, rows_purged FROM privacy.erasures"
            " WHERE customer_key = ANY($1) ORDER BY customer_key",
            [root, weak, bystander],
        )
        assert sorted(r["customer_key"] for r in erasures) == sorted([root, weak])
        for row in erasures:
            assert row["erased_at"] == report.erased_at
            assert row["keys_deleted"] == 3
            assert row["rows_purged"] == sum(report.rows_purged.values())

        again = await erasure.erase(
            conn, await linked(conn, root)
        )  # safe to repeat: nothing left to remove
        assert again.data_keys_deleted == 0
        assert set(again.rows_purged.values()) == {0}
        assert again.erased_at >= report.erased_at
        row = await conn.fetchrow(
            "SELECT erased_at, keys_deleted FROM privacy.erasures WHERE customer_key = $1", root
        )
        assert row is not None
        assert (row["erased_at"], row["keys_deleted"]) == (again.erased_at, 3)
        assert (await counts(conn, [root, weak]))["access_log"] == 2
    finally:
        await conn.execute(
            "DELETE FROM privacy.data_keys WHERE customer_key = ANY($1)", [root, weak, bystander]
        )
        await conn.execute(
            "DELETE FROM privacy.erasures WHERE customer_key = ANY($1)", [root, weak, bystander]
        )


async def test_erase_customer_erases_the_cluster_then_tells_kafka(
    conn: asyncpg.Connection,
) -> None:
    bsn_hash, email_hash = secrets.token_hex(32), secrets.token_hex(32)
    root, weak = "k-" + bsn_hash[:32], "k-" + email_hash[:32]
    await add_identifier(conn, root, bsn_hash, "bsn")
    await add_identifier(conn, root, email_hash, "email")
    await add_identifier(conn, weak, email_hash, "email")
    await add_customer_rows(conn, weak, "u")
    down = MemoryPublisher()
    down.down = True
    try:
        # Kafka down: the erasure stands, and says what is left to do.
        with pytest.raises(erasure.NotAnnounced) as refused:
            await erasure.erase_customer(conn, down, weak)  # a linked key finds its customer
        assert refused.value.report.keys == [root, weak] and refused.value.retriable
        assert (await counts(conn, [root, weak]))["timeline"] == 0
        assert down.records == []

        # Again, Kafka up: safe to repeat. The links went with the rows, so a repeat
        # erases (and announces) the key it is given.
        up = MemoryPublisher()
        report = await erasure.erase_customer(conn, up, root)
        assert report.keys == [root] and set(report.rows_purged.values()) == {0}
        told = [decode(r.value) for r in up.records]
        assert [(e.type.value, e.subject) for e in told] == [
            ("nl.contactmoment.customer.erased.v1", root)
        ]
        assert [r.key for r in up.records] == [root.encode()]
    finally:
        await conn.execute(
            "DELETE FROM privacy.erasures WHERE customer_key = ANY($1)", [root, weak]
        )
