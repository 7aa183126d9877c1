"""A record no consumer can use goes to the dead-letter topic with its reason, unchanged."""

from harness.kafka import create_topic, read_all
from services.kafka.deadletter import Consumed, DeadLetters
from services.kafka.publisher import KafkaPublisher
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
