"""The projector fetches and decodes the next batch while the database applies the current
one: each batch's offsets are still committed after its own transaction, in order, and a
crash between a batch's commit in PostgreSQL and its offsets' commit in Kafka replays
cleanly (the ledger skips what was applied)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

import services.projector.run as run
from harness.kafka import create_topic
from schemas.envelope import Envelope, encode
from services.projector.apply import ProjectionConfig
from services.projector.run import Projector
from services.readmodel.migrate import migrate
from services.settings import Settings
from tests.integration.projector_fixtures import realistic_events

PARTITIONS = 3


@pytest.fixture
async def lane(settings: Settings, unique: str) -> AsyncIterator[tuple[str, str, str]]:
    topic = await create_topic(settings.kafka_bootstrap, f"it.pipe.{unique}.events", PARTITIONS)
    dlq = await create_topic(settings.kafka_bootstrap, f"it.pipe.{unique}.dlq", PARTITIONS)
    schema = f"pipe_{unique}"
    migrate(settings.database_url, schema)
    yield topic, dlq, schema
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


async def publish(settings: Settings, topic: str, events: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:  # every event of the lane's topic, whatever its type
            await producer.send(topic, encode(event), key=event.subject.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def scalar(settings: Settings, sql: str) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return int(await conn.fetchval(sql) or 0)
    finally:
        await conn.close()


async def committed(settings: Settings, topic: str, group: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group)
    await consumer.start()
    try:
        out = {}
        for p in range(PARTITIONS):
            offset = await consumer.committed(TopicPartition(topic, p))
            out[p] = offset or 0
        return out
    finally:
        await consumer.stop()


def projector(settings: Settings, topic: str, dlq: str, schema: str, group: str) -> Projector:
    return Projector(
        settings.kafka_bootstrap,
        settings.database_url,
        ProjectionConfig.from_settings(settings),
        topics=[topic],
        group_id=group,
        schema=schema,
        deadletter_topic=dlq,
        batch_size=7,  # many small batches: the next one is always fetched during an apply
    )


async def until(check: Any, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_each_batch_commits_its_own_offsets_after_its_transaction_in_order(
    settings: Settings, lane: tuple[str, str, str], unique: str, monkeypatch: Any
) -> None:
    topic, dlq, schema = lane
    events = realistic_events(60, seed=11)
    await publish(settings, topic, events)
    log: list[tuple[str, Any]] = []
    real_apply, real_commit = run.apply_batch, AIOKafkaConsumer.commit

    async def apply(*args: Any, **kwargs: Any) -> int:
        log.append(("apply", None))
        applied = await real_apply(*args, **kwargs)
        log.append(("applied", None))
        return applied

    async def commit(self: AIOKafkaConsumer, offsets: Any = None) -> None:
        log.append(("commit", dict(offsets) if offsets is not None else None))
        await real_commit(self, offsets)

    monkeypatch.setattr(run, "apply_batch", apply)
    monkeypatch.setattr(AIOKafkaConsumer, "commit", commit)
    proj = projector(settings, topic, dlq, schema, f"it-pipe-{unique}")
    stop = asyncio.Event()
    task = asyncio.create_task(proj.run(stop))
    ledger = f"SELECT count(*) FROM {schema}.processed_events"
    try:
        await until(lambda: _at_least(settings, ledger, len(events)))
        await until(lambda: _committed_all(settings, topic, f"it-pipe-{unique}", len(events)))
    finally:
        stop.set()
        await task
    kinds = [kind for kind, _ in log]
    assert kinds.count("apply") > 3  # really many batches
    # one batch at a time: apply, applied, commit; never a commit before its apply ended
    assert kinds == ["apply", "applied", "commit"] * kinds.count("apply"), kinds
    seen: dict[TopicPartition, int] = {}
    for kind, offsets in log:
        if kind == "commit":
            assert offsets, "explicit offsets: the consumer has fetched past the batch"
            for tp, offset in offsets.items():
                assert offset > seen.get(tp, 0)  # in order, per partition
                seen[tp] = offset


async def _at_least(settings: Settings, sql: str, expect: int) -> bool:
    return await scalar(settings, sql) >= expect


async def _committed_all(settings: Settings, topic: str, group: str, expect: int) -> bool:
    return sum((await committed(settings, topic, group)).values()) >= expect


class Crash(BaseException):
    """A process dying: not an error the projector handles."""


async def test_a_crash_after_the_transaction_before_the_offsets_replays_cleanly(
    settings: Settings, lane: tuple[str, str, str], unique: str, monkeypatch: Any
) -> None:
    topic, dlq, schema = lane
    events = realistic_events(40, seed=12)
    await publish(settings, topic, events)
    group = f"it-pipe-{unique}"
    real_commit = AIOKafkaConsumer.commit
    commits = 0

    async def dies_on_the_third(self: AIOKafkaConsumer, offsets: Any = None) -> None:
        nonlocal commits
        commits += 1
        if commits == 3:
            raise Crash  # the third batch is in PostgreSQL, its offsets are not in Kafka
        await real_commit(self, offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", dies_on_the_third)
    with pytest.raises(Crash):
        await asyncio.wait_for(projector(settings, topic, dlq, schema, group).run(), 60)
    applied = await scalar(settings, f"SELECT count(*) FROM {schema}.processed_events")
    assert 0 < sum((await committed(settings, topic, group)).values()) < applied < len(events)
    monkeypatch.setattr(AIOKafkaConsumer, "commit", real_commit)

    second = projector(settings, topic, dlq, schema, group)
    stop = asyncio.Event()
    task = asyncio.create_task(second.run(stop))
    try:
        await until(lambda: _committed_all(settings, topic, group, len(events)))
    finally:
        stop.set()
        await task
    contacts = sum(e.type.value.endswith("contact.recorded.v1") for e in events)
    assert await scalar(settings, f"SELECT count(*) FROM {schema}.processed_events") == len(events)
    assert second.applied == len(events) - applied  # the redelivered batch was skipped
    assert await scalar(settings, f"SELECT sum(contact_count) FROM {schema}.customers") == contacts
