"""A record no consumer can use goes to the dead-letter topic with its reason, unchanged;
a short outage is retried, a letter over the record limit still arrives (without its value)."""

from collections.abc import Sequence

import pytest

from harness.kafka import create_topic, read_all
from services.kafka.deadletter import ATTEMPTS, Consumed, DeadLetters
from services.kafka.errors import Unavailable
from services.kafka.publisher import KafkaPublisher, MemoryPublisher, Record
from services.settings import Settings


async def test_malformed_record_is_dead_lettered_with_reason(
    settings: Settings, unique: str
) -> None:
    topic = await create_topic(settings.kafka_bootstrap, f"it.dlq.{unique}")
    publisher = KafkaPublisher(settings.kafka_bootstrap, topic=topic)
    letters = DeadLetters(publisher, source="projector", topic=topic)
    bad = Consumed(
        topic="contact.events.v1",
        partition=4,
        offset=17,
        key=b"k-abc",
        value=b'{"specversion": "1.0", "id": 3}',
        headers=[("content-type", b"application/cloudevents+json")],
    )
    try:
        assert await letters.decode(bad) is None
    finally:
        await publisher.stop()
    [record] = await read_all(settings.kafka_bootstrap, topic, expect=1)
    headers = dict(record.headers)
    assert record.key == b"k-abc"
    assert record.value == bad.value  # the original bytes, untouched
    assert headers["error.source"] == b"projector"
    assert headers["error.origin"] == b"contact.events.v1[4]@17"
    assert b"not a CloudEvents 1.0 event" in headers["error.reason"]
    assert headers["content-type"] == b"application/cloudevents+json"


BAD = Consumed("contact.events.v1", 0, 5, b"k-abc", b"not json", [])


class Flaky(MemoryPublisher):
    """Down for the first `failures` writes, then up."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def _write(self, records: Sequence[Record]) -> None:
        if self.failures:
            self.failures -= 1
            raise Unavailable("broker restarting", retry_after=1)
        await super()._write(records)


async def test_a_short_outage_is_retried_and_the_letter_arrives() -> None:
    publisher = Flaky(failures=1)
    assert await DeadLetters(publisher, source="projector").decode(BAD) is None
    [record] = publisher.records
    assert record.value == b"not json"


async def test_a_long_outage_is_raised_so_the_consumer_does_not_move_on() -> None:
    publisher = Flaky(failures=ATTEMPTS)
    with pytest.raises(Unavailable):
        await DeadLetters(publisher, source="projector").decode(BAD)
    assert publisher.records == []


async def test_a_letter_pushed_over_the_limit_keeps_its_headers_without_the_value() -> None:
    original = Consumed("contact.events.v1", 2, 9, b"k-abc", b"x" * 900, [])
    publisher = MemoryPublisher(max_record_bytes=1000)  # the original fits, the letter not
    await DeadLetters(publisher, source="projector").reject(original, "r" * 200)
    [record] = publisher.records
    headers = dict(record.headers)
    assert record.value == b""
    assert headers["error.origin"] == b"contact.events.v1[2]@9"  # where the bytes still are
    assert b"1000 bytes" in headers["error.value-omitted"]
