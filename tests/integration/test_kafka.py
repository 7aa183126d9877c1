"""A CloudEvent through the real Apache Kafka broker of the local stack."""

import asyncio
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.envelope import CONTENT_TYPE, decode, encode, new_event
from schemas.events import ContactRecorded, EventType
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from schemas.topics import TOPICS, TopicSpec
from services.kafka.topics import create_topics
from services.settings import Settings


async def test_broker_is_a_single_kraft_node_on_loopback(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    assert [(b["host"], b["port"]) for b in cluster["brokers"]] == [
        ("127.0.0.1", settings.kafka_port)
    ]
    # KRaft combined mode: the broker is its own controller.
    assert cluster["controller_id"] == cluster["brokers"][0]["node_id"]
    assert cluster["cluster_id"]


async def test_cloudevent_round_trip_through_the_broker(settings: Settings, unique: str) -> None:
    topic = f"it.events.{unique}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
        described = await admin.describe_topics([topic])
        assert len(described[0]["partitions"]) == 3
    finally:
        await admin.close()

    p = Pseudonymiser("integration-key-0123456789")
    idents = [p.identifier(IdentifierKind.BSN, "111222333")]
    key = customer_key(idents)
    event = new_event(
        EventType.CONTACT_RECORDED,
        source="urn:contactmoment:test",
        source_id=unique,
        subject=key,
        time=datetime.now(UTC),
        data=ContactRecorded(
            channel="counter",
            direction="inbound",
            subject="paspoort",
            outcome="served",
            identifiers=idents,
        ),
    )

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        meta = await producer.send_and_wait(
            topic,
            encode(event),
            key=key.encode(),
            headers=[("content-type", CONTENT_TYPE.encode())],
        )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"it-{unique}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.partition, record.offset) == (meta.partition, meta.offset)
    assert record.key == key.encode()
    assert dict(record.headers)["content-type"] == CONTENT_TYPE.encode()
    assert decode(record.value) == event
    assert b"111222333" not in record.value


async def test_topics_create_is_idempotent_and_sets_retention(
    settings: Settings, unique: str
) -> None:
    specs = tuple(
        TopicSpec(f"it.{unique}.{spec.name}", spec.carries, spec.configs) for spec in TOPICS
    )
    first = await create_topics(settings.kafka_bootstrap, 4, specs)
    second = await create_topics(settings.kafka_bootstrap, 4, specs)
    assert [r.state for r in first] == ["created"] * len(specs)
    assert [r.state for r in second] == ["exists"] * len(specs)
    assert {r.partitions for r in second} == {4}

    configs: dict[str, dict[str, str]] = {}
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        # A topic created a moment ago can still answer "unknown" here: ask again briefly.
        for _attempt in range(50):
            responses = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs]
            )
            for response in responses:
                for code, _msg, _rtype, name, entries in response.resources:
                    if code == 0:
                        configs[name] = {entry[0]: entry[1] for entry in entries}
            if len(configs) == len(specs):
                break
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    for spec in specs:
        for key, value in spec.configs.items():
            assert configs[spec.name][key] == value, (spec.name, key)
