"""Unified-view benchmark: worker and projector throughput, replay, timeline latency.

Each figure has a reference measured in the same run: the worker against a raw aiokafka
consumer reading the same topic. JSON result in benchmarks/results/view.json.

    python -m benchmarks.view [--events 50000]   (make bench; the local stack must be up)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks.common import report, summary_ms
from benchmarks.probes import FlameGraph, broker_pids, cpu_seconds, produce_requests
from harness.kafka import create_topic
from harness.processes import free_port, start_api, start_process
from schemas.envelope import Envelope, encode, new_event
from schemas.events import ContactRecorded, EventType
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from services.projector.apply import ProjectionConfig
from services.projector.replay import replay
from services.projector.run import Projector
from services.readmodel.migrate import migrate
from services.settings import load_settings

PARTITIONS = 12
CHANNELS = ["phone", "counter", "web", "email"]


def contacts(n: int, customers: int, run: str) -> list[Envelope]:
    p = Pseudonymiser(f"bench-{run}-key-material")
    people = [p.identifier(IdentifierKind.PHONE, f"06{10_000_000 + i}") for i in range(customers)]
    t0 = datetime.now(UTC) - timedelta(days=30)
    out = []
    for i in range(n):
        ident = people[i % customers]
        out.append(
            new_event(
                EventType.CONTACT_RECORDED,
                source="urn:contactmoment:bench",
                source_id=f"{run}-{i}",
                subject=customer_key([ident]),
                time=t0 + timedelta(seconds=i),
                data=ContactRecorded(
                    channel=CHANNELS[i % 4],
                    direction="inbound",
                    subject="paspoort",
                    outcome="answered",
                    identifiers=[ident],
                ),
            )
        )
    return out


async def publish(bootstrap: str, topic: str, events: list[Envelope]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        enable_idempotence=True,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        for event in events:
            await producer.send(topic, encode(event), key=event.subject.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def raw_consumer(bootstrap: str, topic: str, n: int) -> dict[str, float]:
    """Reference: a bare aiokafka consumer group reading the same records, no processing."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
    )
    await consumer.start()
    seen, started = 0, time.monotonic()
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(v) for v in batch.values())
            if seen == 0:
                started = time.monotonic()  # do not count the group join
    finally:
        await consumer.stop()
    elapsed = time.monotonic() - started
    return {"events": seen, "seconds": round(elapsed, 2), "events_per_s": round(seen / elapsed)}


async def worker(
    bootstrap: str, topic: str, n: int, run: str, profile: Path | None = None
) -> dict[str, object]:
    """The real worker (`contactmoment worker`, RocksDB tables) catching up on `n` events:
    events/s from its first processed event, its CPU per event, the produce requests the
    broker served meanwhile, and its CPU when idle afterwards. With `profile`, py-spy
    records a flame graph of the catch-up there."""
    brokers = broker_pids("/1-node/")
    load_before = os.getloadavg()[0]
    requests_before = await asyncio.to_thread(produce_requests, brokers)
    metrics_port = free_port()
    dlq = await create_topic(bootstrap, f"bench.view.{run}.dlq", PARTITIONS)
    proc = start_process(
        "worker",
        [
            "worker",
            "--app-id",
            f"bench-worker-{run}",
            "--events-topic",
            topic,
            "--deadletter-topic",
            dlq,
            "--log-level",
            "warn",
        ],
        {
            "CONTACTMOMENT_WORKER_METRICS_PORT": str(metrics_port),
            "CONTACTMOMENT_LOCAL_DIR": tempfile.mkdtemp(prefix="bench-worker-"),
        },
    )
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    first = last = None
    cpu: list[float] = []
    spy: FlameGraph | None = None
    idle: dict[str, float] = {}
    requests_after = None
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = 0.0
                try:
                    async with session.get(url) as r:
                        for line in (await r.text()).splitlines():
                            if line.startswith("contactmoment_events_processed_total{"):
                                done += float(line.rsplit(" ", 1)[1])
                except aiohttp.ClientError:
                    pass
                now = time.monotonic()
                if done and first is None:
                    first = (now, done)
                    cpu.append(cpu_seconds(proc.process.pid))
                    if profile is not None:
                        spy = FlameGraph(proc.process.pid, profile)
                if done >= n:
                    last = (now, done)
                    cpu.append(cpu_seconds(proc.process.pid))
                    break
                await asyncio.sleep(0.2)
        if spy is not None:
            spy.stop()
            spy = None
        requests_after = await asyncio.to_thread(produce_requests, brokers)
        # Idle: every event processed, only the clock ticks (5/s per partition) go on.
        await asyncio.sleep(2)
        t0, c0 = time.monotonic(), cpu_seconds(proc.process.pid)
        await asyncio.sleep(10)
        idle = {
            "seconds": 10.0,
            "core_share": (cpu_seconds(proc.process.pid) - c0) / (time.monotonic() - t0),
        }
    finally:
        if spy is not None:
            spy.stop()
        proc.stop()
    assert first and last, "the worker did not process every event"
    elapsed = last[0] - first[0]
    processed = last[1] - first[1]
    produced = (
        requests_after - requests_before
        if requests_after is not None and requests_before is not None
        else None
    )
    return {
        "events": int(last[1]),
        "measured_events": int(processed),
        "seconds": round(elapsed, 2),
        "events_per_s": round(processed / elapsed),
        "cpu_ms_per_event": round((cpu[1] - cpu[0]) * 1000 / processed, 3),
        "cpu_core_share": round((cpu[1] - cpu[0]) / elapsed, 3),
        # Served by the broker from before the worker started until it was done (the
        # group join and ticks included; other clients of a shared broker add to it).
        "broker_produce_requests": produced,
        "broker_produce_requests_per_event": round(produced / n, 3) if produced else None,
        "broker_produce_requests_per_s": round(produced / elapsed) if produced else None,
        "idle_core_share": round(idle["core_share"], 4) if idle else None,
        "flame_graph": str(profile) if profile else None,
        # On a shared 2-core machine the worker gets what other processes leave over: the
        # CPU per event is the steadier figure, events/s follows the load.
        "load_average_1_min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


async def projector(
    bootstrap: str,
    database_url: str,
    config: ProjectionConfig,
    topic: str,
    n: int,
    run: str,
    schema: str | None,
) -> dict[str, float]:
    stop = asyncio.Event()
    proj = Projector(
        bootstrap,
        database_url,
        config,
        topics=[topic],
        group_id=f"bench-proj-{run}",
        schema=schema,
        deadletter_topic=f"bench.view.{run}.dlq",
    )
    task = asyncio.create_task(proj.run(stop))
    launched = time.monotonic()
    started: tuple[float, int] | None = None  # from the first applied batch: no group join
    try:
        while proj.applied < n:
            if proj.applied and started is None:
                started = (time.monotonic(), proj.applied)
            await asyncio.sleep(0.05)
            assert not task.done(), task.exception()
    finally:
        stop.set()
        await task
    started = started or (launched, 0)
    elapsed = time.monotonic() - started[0]
    return {
        "events": proj.applied,
        "seconds": round(elapsed, 2),
        "events_per_s": round((proj.applied - started[1]) / elapsed),
    }


async def timeline_latency(customer: str, requests: int) -> dict[str, float]:
    api = start_api(args=("--log-level", "warning"))
    latencies = []
    try:
        headers = {"Authorization": f"Bearer {api.token}", "X-Purpose": "benchmark"}
        async with aiohttp.ClientSession(headers=headers) as session:
            url = f"{api.base_url}/v1/customers/{customer}/timeline"
            for i in range(requests + 20):
                t0 = time.perf_counter()
                async with session.get(url, params={"limit": 50}) as r:
                    body = await r.json()
                    assert r.status == 200 and len(body["items"]) == 50, body
                if i >= 20:  # warm-up: connections, pool, plans
                    latencies.append(time.perf_counter() - t0)
    finally:
        api.stop()
    return {"requests": requests, "page_size": 50, **summary_ms(latencies)}


async def main(n: int, worker_only: bool = False, profile: Path | None = None) -> dict[str, object]:
    settings = load_settings()
    bootstrap, db = settings.kafka_bootstrap, settings.database_url
    config = ProjectionConfig.from_settings(settings)
    run = uuid.uuid4().hex[:8]
    topic = await create_topic(bootstrap, f"bench.view.{run}.events", PARTITIONS)
    print(f"publishing {n} contact events …", file=sys.stderr)
    await publish(bootstrap, topic, contacts(n, customers=n // 10, run=run))
    raw = await raw_consumer(bootstrap, topic, n)
    print("worker …", file=sys.stderr)
    work = await worker(bootstrap, topic, n, run, profile)
    rate = work["events_per_s"]
    assert isinstance(rate, int)
    ratio = round(rate / raw["events_per_s"], 4)
    if worker_only:
        return {
            "events": n,
            "worker": work,
            "reference_raw_aiokafka_consumer": raw,
            "ratio_worker_over_raw": ratio,
            "targets": {"worker_events_per_s": 5000, "ratio_worker_over_raw": 0.04},
        }
    print("projector …", file=sys.stderr)
    schema = f"bench_{run}"
    migrate(db, schema)
    proj = await projector(bootstrap, db, config, topic, n, run, schema)
    print("replay …", file=sys.stderr)
    rep = await replay(bootstrap, db, config, schema=f"bench_replay_{run}", topics=[topic])
    # One customer with 1,000 contacts, projected into the live schema the API reads.
    rich = await create_topic(bootstrap, f"bench.view.{run}.rich", PARTITIONS)
    rich_events = contacts(1000, customers=1, run=run + "r")
    await publish(bootstrap, rich, rich_events)
    await projector(bootstrap, db, config, rich, 1000, run + "r", None)
    print("timeline …", file=sys.stderr)
    latency = await timeline_latency(rich_events[0].subject, 500)
    conn = await asyncpg.connect(db)
    try:
        for s in (schema, f"bench_replay_{run}"):
            await conn.execute(f"DROP SCHEMA {s} CASCADE")
    finally:
        await conn.close()
    return {
        "events": n,
        "worker": work,
        "reference_raw_aiokafka_consumer": raw,
        "ratio_worker_over_raw": ratio,
        "projector": proj,
        "replay": {
            "events": rep.events,
            "seconds": round(rep.seconds, 2),
            "events_per_s": round(rep.rate),
        },
        "timeline_1000_contacts": latency,
        "targets": {
            "worker_events_per_s": 5000,
            "projector_events_per_s": 10000,
            "timeline_p99_ms": 50,
            "replay_events_per_s": 10000,
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument(
        "--worker-only", action="store_true", help="the worker and its raw reference only"
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy flame graph (SVG) of the worker's catch-up"
    )
    parser.add_argument("--name", default="view", help="result file benchmarks/results/<name>.json")
    args = parser.parse_args()
    result = asyncio.run(main(args.events, args.worker_only, args.profile))
    report(args.name, result)
