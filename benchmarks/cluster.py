"""Three-broker benchmark: worker throughput with one and with two workers, and end-to-end
latency (ingest call → visible in the staff API) under the simulator's load.

Runs its own stack (harness/faults.py: three KRaft nodes, PostgreSQL, processes) on
free loopback ports. CPU seconds of every process are read from /proc, because on a 2-core
machine a second worker competes with the brokers for the same cores. JSON result in
benchmarks/results/cluster.json.

    python -m benchmarks.cluster [--events 20000] [--samples 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

import httpx

from benchmarks.common import report, summary_ms
from benchmarks.view import contacts, publish
from harness.faults import FaultStack
from harness.processes import RunningProcess

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def processed(workers: list[RunningProcess]) -> float:
    total = 0.0
    for worker in workers:
        try:
            text = httpx.get(f"http://127.0.0.1:{worker.metrics_port}/metrics").text
        except httpx.HTTPError:
            continue
        for line in text.splitlines():
            if line.startswith("contactmoment_events_processed_total{"):
                total += float(line.rsplit(" ", 1)[1])
    return total


def throughput(stack: FaultStack, n: int, count: int) -> dict[str, object]:
    """`count` workers of a fresh app id read the same `n` events from the start."""
    app_id = f"bench-{count}-{uuid.uuid4().hex[:6]}"
    workers = [stack.start_worker(f"{app_id}-{i}", app_id=app_id) for i in range(count)]
    brokers = [node.pid() for node in stack.kafka.nodes]
    pids = {
        **{f"worker-{i}": w.process.pid for i, w in enumerate(workers)},
        **{f"broker-{i + 1}": pid for i, pid in enumerate(brokers) if pid},
    }
    try:
        first = None
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            done = processed(workers)
            now = time.monotonic()
            if done and first is None:
                first = (now, done, {k: cpu_seconds(p) for k, p in pids.items()})
            if done >= n:
                break
            time.sleep(0.2)
        assert first is not None and done >= n, f"{count} worker(s) processed {done} of {n}"
        cpu = {k: round(cpu_seconds(p) - first[2][k], 1) for k, p in pids.items()}
        elapsed = now - first[0]
        return {
            "workers": count,
            "events": n,
            "seconds": round(elapsed, 1),
            "events_per_s": round((done - first[1]) / elapsed),
            "cpu_seconds": cpu,
            "cpu_cores_busy": round(sum(cpu.values()) / elapsed, 2),
        }
    finally:
        for name in [w for w in stack.workers if w.startswith(app_id)]:
            stack.workers.pop(name).stop()


def visible_latency(stack: FaultStack, samples: int) -> dict[str, object]:
    """Post one phone call of a new customer, poll its timeline until it is there."""
    token = stack.env["CONTACTMOMENT_API_TOKEN"]
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "benchmark"}
    latencies = []
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.api_port}", headers=headers) as client:
        for i in range(samples):
            call = {
                "call_id": f"bench-{uuid.uuid4().hex}",
                "direction": "inbound",
                "caller": f"+3161{i:07d}",
                "started_at": "2026-11-30T09:00:00+01:00",
                "ended_at": "2026-11-30T09:03:00+01:00",
                "queue": "KCC",
                "agent": "bench",
                "subject": "paspoort",
                "outcome": "answered",
            }
            sent = time.monotonic()
            answer = client.post("/v1/ingest/phone", json=call)
            assert answer.status_code == 202, answer.text
            key = answer.json()["customer_key"]
            while True:
                timeline = client.get(f"/v1/customers/{key}/timeline")
                if timeline.status_code == 200 and timeline.json()["items"]:
                    break
                time.sleep(0.02)
            latencies.append(time.monotonic() - sent)
            time.sleep(0.5)
    return {"samples": samples, **summary_ms(latencies)}


def main(n: int, samples: int) -> dict[str, object]:
    stack = FaultStack.create("bench")
    try:
        stack.servers_up()
        bootstrap = stack.settings.kafka_bootstrap
        asyncio.run(publish(bootstrap, "contact.events.v1", contacts(n, n // 10, "cluster")))
        one = throughput(stack, n, 1)
        two = throughput(stack, n, 2)
        stack.start_processes(("worker-a",))
        acks = stack.root / "bench.acks"
        simulator = stack.simulate(3600, 8, acks)
        try:
            time.sleep(5)
            latency = visible_latency(stack, samples)
        finally:
            simulator.stop()
        return {
            "brokers": 3,
            "replication": {"factor": 3, "min_insync_replicas": 2},
            "partitions": stack.settings.topic_partitions,
            "one_worker": one,
            "two_workers": two,
            "speedup": round(
                float(two["events_per_s"]) / max(1.0, float(one["events_per_s"])),  # type: ignore[arg-type]
                2,
            ),
            "ingest_to_visible": {"load": "simulator 8 calls/s", **latency},
        }
    finally:
        stack.stop_processes()
        stack.servers_down()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    report("cluster", main(args.events, args.samples))
