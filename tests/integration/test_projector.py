"""The projector on the real broker and database: replay equals live, crashes lose and
double nothing, and a database outage only delays the projection."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from harness.kafka import create_topic, read_all
from harness.processes import start_process
from schemas.envelope import Envelope, encode
from services.projector.apply import ProjectionConfig
from services.projector.replay import replay
from services.projector.run import Projector
from services.readmodel.compare import differences
from services.readmodel.migrate import migrate
from services.settings import Settings
from tests.integration.projector_fixtures import realistic_events, topic_for
from tests.integration.tcp_proxy import TcpProxy


@dataclass
class Lane:
    """Private topics and a schema: a projector world of its own."""

    events: str
    signals: str
    notifications: str
    deadletter: str
    schema: str

    @property
    def topics(self) -> tuple[str, str, str]:
        return (self.events, self.signals, self.notifications)


@pytest.fixture
async def lane(settings: Settings, unique: str) -> AsyncIterator[Lane]:
    lane = Lane(
        *(f"it.proj.{unique}.{t}" for t in ("events", "signals", "notif", "dlq")),
        schema=f"live_{unique}",
    )
    for topic in (lane.events, lane.signals, lane.notifications, lane.deadletter):
        await create_topic(settings.kafka_bootstrap, topic, partitions=3)
    migrate(settings.database_url, lane.schema)
    yield lane
    conn = await asyncpg.connect(settings.database_url)
    try:
        for schema in (lane.schema, f"replay_{unique}"):
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


async def publish(
    settings: Settings, lane: Lane, events: list[Envelope], raw: list[bytes] = ()
) -> None:  # type: ignore[assignment]
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for event in events:
            topic = topic_for(event, lane.events, lane.signals, lane.notifications)
            await producer.send(topic, encode(event), key=event.subject.encode())
        for value in raw:
            await producer.send(lane.events, value, key=b"k-broken")
        await producer.flush()
    finally:
        await producer.stop()


async def ledger_count(settings: Settings, schema: str) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {schema}.processed_events"))
    finally:
        await conn.close()


async def until_ledger(settings: Settings, schema: str, expect: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (count := await ledger_count(settings, schema)) < expect:
        assert time.monotonic() < deadline, f"projected {count} of {expect}"
        await asyncio.sleep(0.2)


async def test_replay_rebuilds_exactly_the_live_read_model(
    settings: Settings, lane: Lane, unique: str
) -> None:
    events = realistic_events(40, seed=1)
    await publish(
        settings,
        lane,
        events + events[:25],  # a retried producer: duplicates
        raw=[b"not an event", b'{"specversion": "1.0"}'],
    )
    stop = asyncio.Event()
    projector = Projector(
        settings.kafka_bootstrap,
        settings.database_url,
        ProjectionConfig.from_settings(settings),
        topics=lane.topics,
        group_id=f"it-{unique}",
        schema=lane.schema,
        deadletter_topic=lane.deadletter,
    )
    task = asyncio.create_task(projector.run(stop))
    try:
        await until_ledger(settings, lane.schema, len(events))
    finally:
        stop.set()
        await task
    result = await replay(
        settings.kafka_bootstrap,
        settings.database_url,
        ProjectionConfig.from_settings(settings),
        schema=f"replay_{unique}",
        topics=lane.topics,
        compare_with=lane.schema,
    )
    assert result.events == len(events) + 25 and result.invalid == 2
    diff = result.differences
    assert diff is not None and diff == dict.fromkeys(diff, 0) and result.equal
    conn = await asyncpg.connect(settings.database_url)
    try:
        counts = {t: await conn.fetchval(f"SELECT count(*) FROM {lane.schema}.{t}") for t in diff}
        contacts = await conn.fetchval(f"SELECT sum(contact_count) FROM {lane.schema}.customers")
    finally:
        await conn.close()
    assert all(counts[t] > 0 for t in counts), counts  # the comparison is not vacuous
    assert counts["processed_events"] == len(events)  # duplicates applied once
    assert contacts == sum(e.type.value.endswith("contact.recorded.v1") for e in events)
    dead = await read_all(settings.kafka_bootstrap, lane.deadletter, expect=2)
    assert sorted(r.value for r in dead) == [b"not an event", b'{"specversion": "1.0"}']
    assert all(dict(r.headers)["error.source"] == b"projector" for r in dead)


async def test_kill_9_mid_stream_loses_and_doubles_nothing(
    settings: Settings, lane: Lane, unique: str
) -> None:
    events = realistic_events(150, seed=2)
    half = len(events) // 2
    await publish(settings, lane, events[:half])
    args = [
        "projector",
        "--group",
        f"it-{unique}",
        "--topics",
        ",".join(lane.topics),
        "--schema",
        lane.schema,
        "--deadletter-topic",
        lane.deadletter,
    ]
    from harness.processes import free_port

    env = {"CONTACTMOMENT_PROJECTOR_METRICS_PORT": str(free_port())}
    first = start_process("projector", args, env)
    try:
        await until_ledger(settings, lane.schema, 1, timeout=60)
        await publish(settings, lane, events[half:])
        first.stop(kill=True)  # SIGKILL: no clean shutdown, no final commit
    finally:
        if first.process.poll() is None:
            first.stop(kill=True)
    assert first.process.returncode == -9
    before_restart = await ledger_count(settings, lane.schema)
    env = {"CONTACTMOMENT_PROJECTOR_METRICS_PORT": str(free_port())}
    second = start_process("projector", args, env)
    try:
        await until_ledger(settings, lane.schema, len(events))
        await asyncio.sleep(1)  # anything extra would arrive now
    finally:
        second.stop()
    assert before_restart < len(events)  # the kill really was mid-stream
    assert await ledger_count(settings, lane.schema) == len(events)
    await replay(
        settings.kafka_bootstrap,
        settings.database_url,
        ProjectionConfig.from_settings(settings),
        schema=f"replay_{unique}",
        topics=lane.topics,
    )
    diff = await differences(settings.database_url, lane.schema, f"replay_{unique}")
    assert diff == dict.fromkeys(diff, 0)


async def test_database_outage_delays_but_loses_nothing(
    settings: Settings, lane: Lane, unique: str
) -> None:
    db = settings.database
    proxy = TcpProxy(db.host, db.port)
    port = await proxy.start()
    url = f"postgresql://{db.user}@127.0.0.1:{port}/{db.name}"
    events = realistic_events(20, seed=3)
    await publish(settings, lane, events[:10])
    stop = asyncio.Event()
    projector = Projector(
        settings.kafka_bootstrap,
        url,
        ProjectionConfig.from_settings(settings),
        topics=lane.topics,
        group_id=f"it-{unique}",
        schema=lane.schema,
        deadletter_topic=lane.deadletter,
    )
    task = asyncio.create_task(projector.run(stop))
    try:
        await until_ledger(settings, lane.schema, 10)
        await proxy.cut()  # PostgreSQL "goes down" for the projector
        await publish(settings, lane, events[10:])
        await asyncio.sleep(3)
        assert await ledger_count(settings, lane.schema) == 10  # nothing applied meanwhile
        assert not task.done()  # still alive, retrying with backoff
        await proxy.start(port)
        await until_ledger(settings, lane.schema, len(events), timeout=60)
    finally:
        stop.set()
        await proxy.cut()
        await asyncio.wait_for(task, 30)
    assert await ledger_count(settings, lane.schema) == len(events)
