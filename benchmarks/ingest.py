"""Ingest benchmark, with its raw references measured in the same run on the same broker:

- one API process: accepted single-event calls/s (closed loop), latency at offered rates;
- `--workers` API processes on one port: calls/s and latency at 200 calls/s;
- the batch endpoint on those processes: accepted events/s;
- references: a raw aiokafka `send_and_wait` loop (one record in flight, as one call is)
  and a raw aiokafka producer with many records in flight (as a batch is); each API figure
  is given as a ratio to its reference.

    python -m benchmarks.ingest [--seconds 10] [--workers 2] [--batch 500]
    (make bench; the local stack must be up)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from benchmarks.common import report, summary_ms
from harness.kafka import create_topic
from harness.processes import start_api
from schemas.envelope import encode, new_event
from schemas.events import ContactRecorded, EventType
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from services.settings import load_settings

EXAMPLE = json.loads((Path(__file__).parents[1] / "docs/examples/phone-answered.json").read_text())


NEW_CALLERS = 5_000_000  # every call a caller not seen this month: a new data key each
RETURNING_CALLERS = 2_000  # callers that called before: their data keys are cached


def call_body(i: int, run: str, callers: int = NEW_CALLERS) -> bytes:
    # Distinct callers spread the load over partitions as real traffic does.
    return json.dumps(
        {**EXAMPLE, "call_id": f"bench-{run}-{i}", "caller": f"06{10_000_000 + i % callers}"}
    ).encode()


def _session(token: str, connections: int) -> aiohttp.ClientSession:
    # aiohttp rather than httpx: httpx's pool costs more CPU per call than the API under test.
    return aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def saturate(
    base_url: str, token: str, seconds: float, concurrency: int, callers: int = NEW_CALLERS
) -> dict[str, float]:
    """Closed loop: `concurrency` clients post as fast as answers come back."""
    run = uuid.uuid4().hex[:8]
    counter = iter(range(10**9))
    accepted = failed = 0
    async with _session(token, concurrency) as session:
        stop = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal accepted, failed
            while time.monotonic() < stop:
                body = call_body(next(counter), run, callers)
                async with session.post(f"{base_url}/v1/ingest/phone", data=body) as response:
                    if response.status == 202:
                        # Await first: `accepted += len(await …)` would lose updates.
                        ids = (await response.json())["ids"]
                        accepted += len(ids)
                    else:
                        failed += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return {
        "accepted_events": accepted,
        "failed_calls": failed,
        "seconds": round(elapsed, 2),
        "events_per_s": round(accepted / elapsed, 1),
        "concurrency": concurrency,
    }


async def saturate_batches(
    base_url: str, token: str, seconds: float, concurrency: int, size: int
) -> dict[str, float]:
    """Closed loop of batch calls: `concurrency` clients post `size` new callers each."""
    run = uuid.uuid4().hex[:8]
    counter = iter(range(10**9))
    accepted = calls = failed = 0
    latencies: list[float] = []
    async with _session(token, concurrency) as session:
        stop = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal accepted, calls, failed
            while time.monotonic() < stop:
                items = [json.loads(call_body(next(counter), run)) for _ in range(size)]
                body = json.dumps(items).encode()
                t0 = time.perf_counter()
                async with session.post(f"{base_url}/v1/ingest/phone/batch", data=body) as r:
                    answer = await r.json()
                    if r.status == 202:
                        latencies.append(time.perf_counter() - t0)
                        calls += 1
                        accepted += sum(len(item["ids"]) for item in answer["results"])
                    else:
                        failed += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return {
        "batch_size": size,
        "batch_calls": calls,
        "failed_calls": failed,
        "accepted_events": accepted,
        "seconds": round(elapsed, 2),
        "events_per_s": round(accepted / elapsed, 1),
        "concurrency": concurrency,
        "batch_latency": summary_ms(latencies),  # type: ignore[dict-item]
    }


async def offered_rate(base_url: str, token: str, rate: float, seconds: float) -> dict[str, object]:
    """Open loop: calls start on schedule whatever the answers do; latency per call."""
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    failed = 0
    async with _session(token, 256) as session:

        async def one(i: int) -> None:
            nonlocal failed
            started = time.perf_counter()
            async with session.post(f"{base_url}/v1/ingest/phone", data=call_body(i, run)) as r:
                await r.read()
                if r.status == 202:
                    latencies.append(time.perf_counter() - started)
                else:
                    failed += 1

        tasks = []
        start = time.monotonic()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return {
        "offered_per_s": rate,
        "seconds": seconds,
        "failed_calls": failed,
        **summary_ms(latencies),
    }


def _raw_event(p: Pseudonymiser, n: int) -> tuple[bytes, bytes]:
    idents = [p.identifier(IdentifierKind.PHONE, f"06{10_000_000 + n % 5_000_000}")]
    event = new_event(
        EventType.CONTACT_RECORDED,
        source="urn:contactmoment:bench",
        source_id=str(n),
        subject=customer_key(idents),
        time=datetime.now(UTC),
        data=ContactRecorded(
            channel="phone",
            direction="inbound",
            subject="bench",
            outcome="answered",
            identifiers=idents,
        ),
    )
    return encode(event), event.subject.encode()


async def raw_kafka_batched(bootstrap: str, seconds: float, size: int) -> dict[str, float]:
    """The batch reference: the same producer settings, `size` records sent, then all
    acknowledgements awaited, in a loop (what one batch call asks of Kafka)."""
    topic = await create_topic(bootstrap, f"bench.rawb.{uuid.uuid4().hex[:8]}", partitions=12)
    p = Pseudonymiser("benchmark-key-0123456789")
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=1
    )
    await producer.start()
    sent = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            pending = []
            for _ in range(size):
                value, key = _raw_event(p, sent)
                pending.append(await producer.send(topic, value, key=key))
                sent += 1
            await asyncio.gather(*pending)
        elapsed = time.monotonic() - started
    finally:
        await producer.stop()
    return {"events": sent, "seconds": round(elapsed, 2), "events_per_s": round(sent / elapsed, 1)}


async def raw_kafka(bootstrap: str, seconds: float) -> dict[str, float]:
    """The reference: one producer, acks=all + idempotence, `send_and_wait` in a loop."""
    topic = await create_topic(bootstrap, f"bench.raw.{uuid.uuid4().hex[:8]}", partitions=12)
    p = Pseudonymiser("benchmark-key-0123456789")
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=1
    )
    await producer.start()
    sent = 0
    latencies = []
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            value, key = _raw_event(p, sent)
            t0 = time.perf_counter()
            await producer.send_and_wait(topic, value, key=key)
            latencies.append(time.perf_counter() - t0)
            sent += 1
        elapsed = time.monotonic() - started
    finally:
        await producer.stop()
    return {
        "events": sent,
        "seconds": round(elapsed, 2),
        "events_per_s": round(sent / elapsed, 1),
        **summary_ms(latencies),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its direct children (the API's worker processes)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return total


async def single_process(seconds: float) -> dict[str, object]:
    api = start_api(args=("--log-level", "warning"))
    try:
        await saturate(api.base_url, api.token, 2, 8)  # warm-up: connections, caches
        cpu_before = cpu_seconds(api.process.pid)
        throughput = await saturate(api.base_url, api.token, seconds, 32)
        cpu = cpu_seconds(api.process.pid) - cpu_before
        # On 2 cores the load generator and the broker take CPU from the API: events per
        # CPU-second of the API process is what one dedicated core would sustain.
        throughput["api_cpu_seconds"] = round(cpu, 2)
        throughput["api_cpu_share"] = round(cpu / throughput["seconds"], 2)
        throughput["events_per_api_cpu_second"] = round(throughput["accepted_events"] / cpu, 1)
        # Returning callers: their data keys are in the API's cache (no database round trip).
        await saturate(api.base_url, api.token, 2, 8, RETURNING_CALLERS)
        cpu_before = cpu_seconds(api.process.pid)
        returning = await saturate(api.base_url, api.token, seconds, 32, RETURNING_CALLERS)
        cpu = cpu_seconds(api.process.pid) - cpu_before
        returning["events_per_api_cpu_second"] = round(returning["accepted_events"] / cpu, 1)
        latency = [
            await offered_rate(api.base_url, api.token, rate, seconds) for rate in (50, 200, 400)
        ]
    finally:
        api.stop()
    return {"throughput": throughput, "returning_callers": returning, "latency": latency}


async def several_processes(seconds: float, workers: int, batch: int) -> dict[str, object]:
    api = start_api(args=("--log-level", "warning", "--workers", str(workers)))
    try:
        await saturate(api.base_url, api.token, 3, 16)  # warm-up: every worker connected
        cpu_before = tree_cpu_seconds(api.process.pid)
        throughput = await saturate(api.base_url, api.token, seconds, 64)
        cpu = tree_cpu_seconds(api.process.pid) - cpu_before
        throughput["api_cpu_seconds"] = round(cpu, 2)
        throughput["events_per_api_cpu_second"] = round(throughput["accepted_events"] / cpu, 1)
        latency = await offered_rate(api.base_url, api.token, 200, seconds)
        await saturate_batches(api.base_url, api.token, 2, 2, batch)
        cpu_before = tree_cpu_seconds(api.process.pid)
        batches = await saturate_batches(api.base_url, api.token, seconds, 4, batch)
        cpu = tree_cpu_seconds(api.process.pid) - cpu_before
        batches["events_per_api_cpu_second"] = round(batches["accepted_events"] / cpu, 1)
    finally:
        api.stop()
    return {
        "workers": workers,
        "throughput": throughput,
        "latency_at_200": latency,
        "batch": batches,
    }


async def main(seconds: float, workers: int, batch: int) -> dict[str, object]:
    settings = load_settings()
    # The machine is shared (broker, database, other work): the load says how much.
    load_before = [round(x, 2) for x in os.getloadavg()]
    single = await single_process(seconds)
    several = await several_processes(seconds, workers, batch)
    reference = await raw_kafka(settings.kafka_bootstrap, seconds)
    reference_batched = await raw_kafka_batched(settings.kafka_bootstrap, seconds, batch)
    one: dict[str, Any] = single["throughput"]  # type: ignore[assignment]
    many: dict[str, Any] = several["throughput"]  # type: ignore[assignment]
    batched: dict[str, Any] = several["batch"]  # type: ignore[assignment]
    at_200: dict[str, Any] = several["latency_at_200"]  # type: ignore[assignment]
    return {
        "load_average_1_5_15_min": {
            "before": load_before,
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "api_throughput": single["throughput"],
        "api_throughput_returning_callers": single["returning_callers"],
        "api_latency_at_offered_rate": single["latency"],
        "several_processes": several,
        "reference_raw_aiokafka_send_and_wait": reference,
        "reference_raw_aiokafka_batched": reference_batched,
        "ratio_api_over_raw_events_per_s": round(
            one["events_per_s"] / reference["events_per_s"], 2
        ),
        "ratio_several_processes_over_raw_events_per_s": round(
            many["events_per_s"] / reference["events_per_s"], 2
        ),
        "ratio_batch_over_raw_batched_events_per_s": round(
            batched["events_per_s"] / reference_batched["events_per_s"], 2
        ),
        "targets": {
            "calls_per_s_across_processes": 1500,
            "p99_ms_at_200_per_s": 50,
            "batch_events_per_s": 10_000,
        },
        "met": {
            "calls_per_s_across_processes": many["events_per_s"] >= 1500,
            "p99_ms_at_200_per_s": at_200["p99_ms"] <= 50,
            "batch_events_per_s": batched["events_per_s"] >= 10_000,
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="API processes on one port")
    parser.add_argument("--batch", type=int, default=500, help="records per batch call")
    args = parser.parse_args()
    result = asyncio.run(main(args.seconds, args.workers, args.batch))
    report("ingest", result)
