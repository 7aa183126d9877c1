"""One contract, two adapters: the in-memory and the Kafka publisher behave the same."""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from harness.kafka import create_topic, read_all
from schemas.envelope import decode, new_event
from schemas.events import EventType, RequestAnswered
from services.kafka.publisher import KafkaPublisher, MemoryPublisher, Publisher
from services.settings import Settings

ReadBack = Callable[[int], Awaitable[list[tuple[bytes, bytes]]]]


@pytest.fixture(params=["memory", "kafka"])
async def adapter(
    request: pytest.FixtureRequest, settings: Settings, unique: str
) -> AsyncIterator[tuple[Publisher, ReadBack]]:
    if request.param == "memory":
        memory = MemoryPublisher(topic=f"mem.{unique}")

        async def read_memory(_expect: int) -> list[tuple[bytes, bytes]]:
            return [(r.key, r.value) for r in memory.records]

        yield memory, read_memory
        return
    topic = await create_topic(settings.kafka_bootstrap, f"it.pub.{unique}")
    kafka = KafkaPublisher(settings.kafka_bootstrap, topic=topic)
    await kafka.start()

    async def read_kafka(expect: int) -> list[tuple[bytes, bytes]]:
        records = await read_all(settings.kafka_bootstrap, topic, expect)
        return sorted(((r.key, r.value) for r in records), key=lambda kv: kv[1])

    try:
        yield kafka, read_kafka
    finally:
        await kafka.stop()


def _events(n: int) -> list:  # type: ignore[type-arg]
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
