"""Request-clock benchmark: the worker's deadline index and sweep (domain.clock.index and
domain.clock.requests, the code the worker runs) with 1,000,000 vs 10,000 open requests
at the same due rate, in real time. Tables are plain dicts of the same JSON values (in the
worker they are faust tables on RocksDB), so the figures are for the algorithm, not faust's
store.

    python -m benchmarks.clock [--open 1000000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import report, summary_ms
from domain.clock import requests
from domain.clock.index import DeadlineIndex
from domain.clock.norms import parse
from domain.clock.state import RequestClock
from domain.clock.terms import Step

# ISO terms so due instants are exact at any hour of the day the benchmark runs.
CATALOGUE = parse(
    {
        "norms": {
            t: {"term": "PT1H", "escalate_after": "P1D", "interim_every": "P30D"}
            for t in ("question", "callback", "complaint", "application", "report")
        }
    }
)
CTX = requests.Context(CATALOGUE, "phone")
PARTITION = 0
DUE_PER_SECOND = 50
TICK = 0.2


def state_for(i: int, opened: datetime) -> RequestClock:
    return RequestClock(
        request_id=f"r{i}",
        customer=f"k-{i:032x}",
        type="callback",
        subject="Wmo",
        channel="phone",
        department="KCC",
        steps=(Step("opened", opened),),
        # The warning is 75 % into the term: marked sent so only the breach is measured.
        emitted=(f"warning|{opened.isoformat()}",),
    )


def build(n_open: int, window: float) -> tuple[dict[str, Any], DeadlineIndex, float]:
    """n_open requests: most due later this month, then a steady stream due in the window
    (filed last, so the window starts after the build however long it took)."""
    rng = random.Random(1)  # noqa: S311 - test data
    clocks: dict[str, Any] = {}
    buckets: dict[str, Any] = {}
    cursors: dict[str, Any] = {}
    index = DeadlineIndex(buckets, cursors, encode=False)
    due_soon = int(window * DUE_PER_SECOND)

    def add(i: int, due: float) -> None:
        opened = datetime.fromtimestamp(due, UTC) - timedelta(hours=1)
        state = state_for(i, opened)
        indexed = index.move(PARTITION, state.request_id, None, datetime.fromtimestamp(due, UTC))
        clocks[state.request_id] = replace(state, indexed=indexed).to_json()

    for i in range(due_soon, n_open):
        add(i, time.time() + 3600 * rng.uniform(2, 24 * 30))
    start = time.time()
    for i in range(due_soon):
        add(i, start + 2 + i / DUE_PER_SECOND)
    return clocks, index, start


def run(n_open: int, window: float) -> dict[str, object]:
    clocks, index, start = build(n_open, window)
    delays, sweep_cpu, swept = [], 0.0, 0
    index.cursors[str(PARTITION)] = int(time.time()) - 1
    end = start + 2 + window + 1
    while time.time() < end:
        t0 = time.perf_counter()
        now = time.time()
        current = datetime.fromtimestamp(now, UTC)
        for key in index.due(PARTITION, now):
            state, out = requests.sweep(RequestClock.from_json(clocks[key]), current, CTX)
            for event in out:
                if event.type.value.endswith("breached.v1"):
                    data = event.data
                    delays.append(time.time() - data.due_at.timestamp())  # type: ignore[attr-defined]
            indexed = index.move(
                PARTITION, key, state.indexed, requests.next_instant(state, CATALOGUE)
            )
            clocks[key] = replace(state, indexed=indexed).to_json()
            swept += 1
        sweep_cpu += time.perf_counter() - t0
        time.sleep(max(0.0, TICK - (time.perf_counter() - t0)))
    return {
        "open_requests": n_open,
        "due_per_second": DUE_PER_SECOND,
        "breaches": len(delays),
        "sweep_cpu_seconds": round(sweep_cpu, 3),
        "visits": swept,
        "sweep_cpu_ms_per_second_of_time": round(1000 * sweep_cpu / (end - start - 2), 2),
        "detection_delay": summary_ms(delays),
    }


def memory_per_request(n: int = 100_000) -> dict[str, float]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    clocks, _, _ = build(n, 0)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    serialized = sum(len(json.dumps(s)) for s in list(clocks.values())[:1000]) / 1000
    return {
        "python_bytes_per_open_request": round((after - before) / n),
        "serialized_bytes_per_open_request": round(serialized),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    def cost(run_result: dict[str, object]) -> float:
        return float(run_result["sweep_cpu_seconds"])  # type: ignore[arg-type]

    small = run(10_000, args.seconds)
    large = run(args.open, args.seconds)
    result = {
        "small": small,
        "large": large,
        "sweep_cost_ratio_large_over_small": round(cost(large) / cost(small), 2),
        "memory": memory_per_request(),
        "targets": {"p99_detection_delay_s": 1.0, "sweep_cost_ratio": 2.0},
        "scope": "index + sweep code of the worker on dict tables; faust/RocksDB not included",
    }
    report("clock", result)
