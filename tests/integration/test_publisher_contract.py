"""One contract, two adapters: the in-memory and the Kafka publisher behave the same,
when they work and when they fail (broker down: retriable; record too large: not)."""

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from harness.kafka import create_topic, read_all
from schemas.envelope import Envelope, decode, new_event
from schemas.events import EventType, RequestAnswered
from services.kafka.errors import RecordTooLarge, Unavailable
from services.kafka.publisher import (
    MAX_RECORD_BYTES,
    KafkaPublisher,
    MemoryPublisher,
    Publisher,
    Record,
)
from services.settings import Settings

ReadBack = Callable[[int], Awaitable[list[tuple[bytes, bytes]]]]
# Makes an adapter of the parametrised kind on a fresh topic, with this record limit.
Make = Callable[[int], Awaitable[tuple[Publisher, ReadBack]]]
SMALL = 400  # bytes: under the size of one ordinary event


@pytest.fixture(params=["memory", "kafka"])
async def make(
    request: pytest.FixtureRequest, settings: Settings, unique: str
) -> AsyncIterator[Make]:
    started: list[Publisher] = []

    async def new(max_record_bytes: int) -> tuple[Publisher, ReadBack]:
        if request.param == "memory":
            memory = MemoryPublisher(topic=f"mem.{unique}", max_record_bytes=max_record_bytes)

            async def read_memory(_expect: int) -> list[tuple[bytes, bytes]]:
                return [(r.key, r.value) for r in memory.records]

            return memory, read_memory
        topic = await create_topic(settings.kafka_bootstrap, f"it.pub.{unique}.{len(started)}")
        kafka = KafkaPublisher(
            settings.kafka_bootstrap, topic=topic, max_record_bytes=max_record_bytes
        )
        started.append(kafka)
        await kafka.start()

        async def read_kafka(expect: int) -> list[tuple[bytes, bytes]]:
            records = await read_all(settings.kafka_bootstrap, topic, expect)
            return sorted(((r.key, r.value) for r in records), key=lambda kv: kv[1])

        return kafka, read_kafka

    try:
        yield new
    finally:
        for publisher in started:
            await publisher.stop()


@pytest.fixture
async def adapter(make: Make) -> tuple[Publisher, ReadBack]:
    return await make(MAX_RECORD_BYTES)


def closed_port() -> int:
    """A loopback port nothing listens on (bound once by us, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["memory", "kafka"])
async def down(request: pytest.FixtureRequest) -> AsyncIterator[Publisher]:
    """An adapter whose broker is gone: memory set down, Kafka pointed at a closed port."""
    if request.param == "memory":
        memory = MemoryPublisher()
        memory.down = True
        yield memory
        return
    kafka = KafkaPublisher(f"127.0.0.1:{closed_port()}", topic="nowhere", timeout=2.0)
    try:
        yield kafka
    finally:
        await kafka.stop()


def _events(n: int) -> list[Envelope]:
    return [
        new_event(
            EventType.REQUEST_ANSWERED,
            source="urn:contactmoment:test",
            source_id=str(i),
            subject=f"k-{i:032x}",
            time=datetime(2026, 11, 30, tzinfo=UTC),
            data=RequestAnswered(request_id=f"r-{i}"),
        )
        for i in range(n)
    ]


async def test_published_events_are_readable_keyed_by_customer(
    adapter: tuple[Publisher, ReadBack],
) -> None:
    publisher, read_back = adapter
    events = _events(5)
    await publisher.publish(events)
    stored = await read_back(5)
    assert len(stored) == 5
    assert sorted(decode(value).id for _, value in stored) == sorted(e.id for e in events)
    assert {key for key, _ in stored} == {e.subject.encode() for e in events}


async def test_ready_when_it_can_write(adapter: tuple[Publisher, ReadBack]) -> None:
    publisher, _ = adapter
    assert await publisher.ready() is True


async def test_broker_down_is_unavailable_and_retriable(down: Publisher) -> None:
    assert await down.ready() is False
    with pytest.raises(Unavailable) as caught:
        await down.publish(_events(1))
    assert caught.value.retriable is True
    assert caught.value.retry_after and caught.value.retry_after > 0
    assert "127.0.0.1" not in str(caught.value)  # clients see this text: no addresses


async def test_a_record_over_the_limit_is_not_retriable_and_nothing_is_written(
    make: Make,
) -> None:
    publisher, read_back = await make(SMALL)
    small, big = Record(publisher.topic, b"k", b"x"), Record(publisher.topic, b"k", b"x" * SMALL)
    with pytest.raises(RecordTooLarge) as caught:
        await publisher.send_records([small, big])
    assert caught.value.retriable is False
    assert caught.value.retry_after is None
    assert caught.value.limit == SMALL
    assert f"{SMALL} bytes" in str(caught.value)
    assert await read_back(0) == []  # not even the small one before it
    await publisher.send_records([small])  # the publisher still works
    assert len(await read_back(1)) == 1


async def test_a_topic_limit_below_ours_is_record_too_large_too(
    settings: Settings, unique: str
) -> None:
    """The broker's own refusal (a topic with a lower max.message.bytes) maps the same way."""
    name = f"it.pub.small.{unique}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, 1, 1, topic_configs={"max.message.bytes": "2000"})]
        )
    finally:
        await admin.close()
    kafka = KafkaPublisher(settings.kafka_bootstrap, topic=name)
    try:
        with pytest.raises(RecordTooLarge) as caught:
            await kafka.send_records([Record(name, b"k", b"x" * 5000)])
        assert caught.value.retriable is False
        await kafka.send_records([Record(name, b"k", b"fits")])  # the producer was kept
    finally:
        await kafka.stop()
    assert [r.value for r in await read_all(settings.kafka_bootstrap, name, 1)] == [b"fits"]
