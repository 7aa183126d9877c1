"""The faust worker on the real broker: links keys across partitions, dead-letters bad
records, and after kill -9 and a restart has counted every contact exactly once."""

import asyncio
import json
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from harness.kafka import create_topic, read_all
from harness.processes import (
    RunningProcess,
    free_port,
    start_process,
    wait_worker_ready,
)
from schemas.envelope import Envelope, decode, encode
from schemas.events import EventType
from services.settings import Settings
from tests.integration.projector_fixtures import realistic_events

PARTITIONS = 3


def start_worker(unique: str, events: str, dlq: str, datadir: Path) -> RunningProcess:
    worker = start_process(
        "worker",
        [
            "worker",
            "--app-id",
            f"it-worker-{unique}",
            "--events-topic",
            events,
            "--deadletter-topic",
            dlq,
            "--log-level",
            "info",
        ],
        {
            "CONTACTMOMENT_WORKER_METRICS_PORT": str(free_port()),
            "CONTACTMOMENT_TOPIC_PARTITIONS": str(PARTITIONS),
            "CONTACTMOMENT_LOCAL_DIR": str(datadir),
        },
    )
    wait_worker_ready(worker)
    return worker


async def send(bootstrap: str, topic: str, events: list[Envelope], raw: list[bytes] = ()) -> None:  # type: ignore[assignment]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            await producer.send(topic, encode(event), key=event.subject.encode())
        for value in raw:
            await producer.send(topic, value, key=b"k-bad")
        await producer.flush()
    finally:
        await producer.stop()


def expected_links(events: list[Envelope]) -> set[tuple[str, str]]:
    """(weak key, strong key) pairs the web forms and verified calls imply."""
    pairs = set()
    for event in events:
        if event.type is EventType.CONTACT_RECORDED:
            for ident in event.data.identifiers:  # type: ignore[attr-defined]
                other = f"k-{ident.hash[:32]}"
                if ident.kind.value in ("email", "phone") and other != event.subject:
                    pairs.add((other, event.subject))
    return pairs


async def test_worker_links_keys_and_survives_kill_9(
    settings: Settings, unique: str, tmp_path: Path
) -> None:
    events_topic = await create_topic(settings.kafka_bootstrap, f"it.w.{unique}.events", PARTITIONS)
    dlq = await create_topic(settings.kafka_bootstrap, f"it.w.{unique}.dlq", PARTITIONS)
    events = [
        e
        for e in realistic_events(60, seed=7)
        if not e.type.value.startswith(("nl.contactmoment.deadline", "nl.contactmoment.notif"))
    ]
    contacts_per_key: dict[str, int] = {}
    for e in events:
        if e.type is EventType.CONTACT_RECORDED:
            contacts_per_key[e.subject] = contacts_per_key.get(e.subject, 0) + 1
    half = len(events) // 2
    await send(settings.kafka_bootstrap, events_topic, events[:half], raw=[b"garbage"])

    worker = start_worker(unique, events_topic, dlq, tmp_path)
    try:
        await asyncio.sleep(1.5)
        await send(settings.kafka_bootstrap, events_topic, events[half:] + events[:20])  # + resends
        worker.stop(kill=True)
    finally:
        if worker.process.poll() is None:
            worker.stop(kill=True)
    worker = start_worker(unique, events_topic, dlq, tmp_path)
    try:
        links = expected_links(events)
        deadline = time.monotonic() + 60
        while True:
            records = await read_all(settings.kafka_bootstrap, events_topic)
            linked = [decode(r.value) for r in records if b"customer.linked" in r.value]
            got = {(e.subject, f"k-{e.data.identifiers[0].hash[:32]}") for e in linked}  # type: ignore[attr-defined]
            if got >= links or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # let the restarted worker finish and flush its changelog
    finally:
        worker.stop()
    assert got == links and links
    # Deterministic ids: whatever was emitted twice around the crash is the same event. A
    # link is told once, and once more if a later contact verifies it (its own id).
    told = {
        (e.subject, e.data.identifiers[0].hash, e.data.identifiers[1].verified)  # type: ignore[attr-defined]
        for e in linked
    }
    assert len({e.id for e in linked}) == len(told)

    changelog = await read_all(
        settings.kafka_bootstrap, f"it-worker-{unique}-customer-view-changelog", expect=1
    )
    latest = {}
    for record in sorted(changelog, key=lambda r: (r.partition, r.offset)):
        latest[record.key.decode()] = json.loads(record.value)
    counted = {k: v["contacts"] for k, v in latest.items() if v["contacts"]}
    assert counted == contacts_per_key  # resends and the crash counted nothing twice

    # At least once: a crash between dead-lettering and the commit repeats the dead letter.
    dead = await read_all(settings.kafka_bootstrap, dlq, expect=1)
    assert dead and {(d.value, dict(d.headers)["error.source"]) for d in dead} == {
        (b"garbage", b"worker")
    }
