"""A secure broker of its own (TLS, SASL/SCRAM-SHA-512, ACLs), as `dev up --secure` starts
it, on free ports beside the shared stack: who may connect, write and read what."""

import asyncio
import shutil
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from harness.faults import _six_free_ports
from services.dev.kafka import LocalKafka
from services.kafka.client import KafkaAuth
from services.kafka.publisher import KafkaPublisher, Record
from services.kafka.topics import create_topics
from services.settings import PROJECT_ROOT, Settings

EVENTS, SIGNALS = "contact.events.v1", "contact.signals.v1"


@pytest.fixture(scope="module")
def secure_kafka(settings: Settings) -> Iterator[LocalKafka]:
    root = PROJECT_ROOT / ".local" / f"secure-kafka-{uuid.uuid4().hex[:8]}"
    base = _six_free_ports()
    own = Settings(
        kafka_bootstrap=f"127.0.0.1:{base}", kafka_controller_port=base + 1, local_dir=root
    )
    kafka = LocalKafka(own, 1, jars=PROJECT_ROOT / ".local" / "kafka" / "lib", secure=True)
    try:
        kafka.up(lambda _line: None)
        asyncio.run(create_topics(kafka.bootstrap, 3, auth=kafka.auth("tools")))
        yield kafka
    finally:
        kafka.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def record_key() -> AsyncIterator[bytes]:
    yield f"k-{uuid.uuid4().hex}".encode()


async def _connects(kafka: LocalKafka, **options: object) -> bool:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, request_timeout_ms=3000, **options
    )
    try:
        await asyncio.wait_for(producer.start(), 8)
    except (KafkaError, OSError, TimeoutError, ssl.SSLError):
        return False
    finally:
        await producer.stop()
    return True


async def test_a_client_without_tls_and_scram_is_refused(secure_kafka: LocalKafka) -> None:
    assert not await _connects(secure_kafka)  # plaintext
    tls_only = KafkaAuth("SASL_SSL", "x", "x", secure_kafka.auth("api").ca_file).ssl_context()
    assert not await _connects(secure_kafka, security_protocol="SSL", ssl_context=tls_only)
    wrong = KafkaAuth("SASL_SSL", "api", "not-the-password", secure_kafka.auth("api").ca_file)
    assert not await _connects(secure_kafka, **wrong.aiokafka_options())
    assert await _connects(secure_kafka, **secure_kafka.auth("api").aiokafka_options())


async def test_the_api_writes_events_but_reads_nothing_and_writes_no_signals(
    secure_kafka: LocalKafka, record_key: bytes
) -> None:
    api = secure_kafka.auth("api")
    publisher = KafkaPublisher(secure_kafka.bootstrap, auth=api)  # the API's own adapter
    try:
        await publisher.send_records([Record(EVENTS, record_key, b"{}")])
    finally:
        await publisher.stop()
    producer = AIOKafkaProducer(
        bootstrap_servers=secure_kafka.bootstrap, acks="all", **api.aiokafka_options()
    )
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(SIGNALS, b"{}", key=record_key)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=secure_kafka.bootstrap, group_id=None, **api.aiokafka_options()
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(EVENTS, p) for p in range(3)])
        await consumer.seek_to_beginning()
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(consumer.getmany(timeout_ms=5000), 15)
    finally:
        await consumer.stop()


async def test_the_projector_reads_what_the_api_wrote(
    secure_kafka: LocalKafka, record_key: bytes
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=secure_kafka.bootstrap,
        acks="all",
        **secure_kafka.auth("api").aiokafka_options(),
    )
    await producer.start()
    try:
        await producer.send_and_wait(EVENTS, b'{"it": "secure"}', key=record_key)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        EVENTS,
        bootstrap_servers=secure_kafka.bootstrap,
        group_id=f"contactmoment-projector-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        **secure_kafka.auth("projector").aiokafka_options(),
    )
    await consumer.start()
    try:
        keys: set[bytes] = set()
        for _ in range(30):
            batch = await consumer.getmany(timeout_ms=1000)
            keys |= {r.key for part in batch.values() for r in part if r.key}
            if record_key in keys:
                break
        assert record_key in keys
    finally:
        await consumer.stop()


def test_the_secure_stack_keeps_its_secrets_private(secure_kafka: LocalKafka) -> None:
    local = secure_kafka.settings.local_dir / "kafka"
    for path in [
        *local.glob("users/*"),
        local / "tls" / "broker.pem",
        secure_kafka.nodes[0].config,
    ]:
        assert Path(path).stat().st_mode & 0o077 == 0, path
