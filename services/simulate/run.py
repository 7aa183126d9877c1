"""The simulator loop: a steady rate of calls to the ingest API, with a live progress line."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import httpx

from services.settings import Settings
from services.simulate.scenarios import Call, Scenarios

CONCURRENCY = 32


async def simulate(
    settings: Settings,
    *,
    rate: float,
    duration: float,
    seed: int | None,
    progress: bool = True,
    base_url: str | None = None,
) -> int:
    """Send `rate` calls per second for `duration` seconds (0: until interrupted)."""
    if rate <= 0:
        print("simulate: --rate must be above 0", file=sys.stderr)
        return 2
    scenarios = Scenarios(seed, own_domain=sorted(settings.own_domains)[0])
    url = base_url or f"http://127.0.0.1:{settings.api_port}"
    headers = {"Authorization": f"Bearer {settings.secret('api-token')}"}
    stats: Counter[str] = Counter()
    gate = asyncio.Semaphore(CONCURRENCY)
    started = time.monotonic()
    interactive = progress and sys.stdout.isatty()

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        await _wait_for_api(client)
        tasks: set[asyncio.Task[None]] = set()
        sent = 0
        try:
            while duration <= 0 or time.monotonic() - started < duration:
                call = scenarios.next(datetime.now(UTC))
                await gate.acquire()
                task = asyncio.create_task(_send(client, call, stats, gate))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
                if progress and (interactive or sent % max(1, int(rate * 10)) == 0):
                    _progress(stats, sent, started, interactive)
                # Pace by schedule, not by sleep-after-send: the rate holds under latency.
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
    _progress(stats, sent, started, interactive)
    if interactive:
        print()
    return 0 if stats["error"] == 0 and stats["rejected"] == 0 else 1


async def _wait_for_api(client: httpx.AsyncClient, patience: float = 60) -> None:
    deadline = time.monotonic() + patience
    while True:
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"simulate: no API at {client.base_url} after {patience:.0f} s")
        await asyncio.sleep(0.5)


async def _send(
    client: httpx.AsyncClient, call: Call, stats: Counter[str], gate: asyncio.Semaphore
) -> None:
    try:
        if isinstance(call.body, bytes):
            response = await client.post(
                f"/v1/ingest/{call.channel}",
                content=call.body,
                headers={"Content-Type": call.content_type},
            )
        else:
            response = await client.post(f"/v1/ingest/{call.channel}", json=call.body)
        stats[call.channel] += 1
        if response.status_code == 202:
            stats["accepted"] += 1
        elif 400 <= response.status_code < 500:
            stats["rejected"] += 1
            print(f"\nsimulate: {call.channel} rejected: {response.text[:300]}", file=sys.stderr)
        else:
            stats["error"] += 1
    except httpx.HTTPError:
        stats["error"] += 1
    finally:
        gate.release()


def _progress(stats: Counter[str], sent: int, started: float, interactive: bool) -> None:
    elapsed = time.monotonic() - started
    channels = " ".join(f"{c} {stats[c]}" for c in ("phone", "counter", "web", "email"))
    line = (
        f"[{elapsed:7.1f}s] sent {sent}  accepted {stats['accepted']}  "
        f"rejected {stats['rejected']}  errors {stats['error']}  | {channels}  | "
        f"{sent / elapsed if elapsed else 0:.1f}/s"
    )
    print(("\r" + line) if interactive else line, end="" if interactive else "\n", flush=True)
