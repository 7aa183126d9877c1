"""The simulator loop: a steady rate of calls to the ingest API, with a live progress line."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import httpx

from services.settings import Settings
from services.simulate.scenarios import Call, Scenarios

CONCURRENCY = 32
# A channel system retries a call Kafka could not take (503) or that never got an answer,
# with the same payload and so the same event ids; this long, then it gives up and counts
# an error.
RETRY_FOR = 90.0


async def simulate(
    settings: Settings,
    *,
    rate: float,
    duration: float,
    seed: int | None,
    progress: bool = True,
    base_url: str | None = None,
    acks: Path | None = None,
) -> int:
    """Send `rate` calls per second for `duration` seconds (0: until interrupted).
    With `acks`, every accepted call's ids are appended there as a JSON line at once, so
    an audit can check that each acknowledged event reached the read model."""
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

    ack_log = acks.open("a", buffering=1) if acks else None
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        await _wait_for_api(client)
        tasks: set[asyncio.Task[None]] = set()
        sent = 0
        try:
            while duration <= 0 or time.monotonic() - started < duration:
                call = scenarios.next(datetime.now(UTC))
                await gate.acquire()
                task = asyncio.create_task(_send(client, call, stats, gate, ack_log))
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
            if ack_log:
                ack_log.close()
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
    client: httpx.AsyncClient,
    call: Call,
    stats: Counter[str],
    gate: asyncio.Semaphore,
    ack_log: TextIO | None = None,
) -> None:
    try:
        stats[call.channel] += 1
        response = await _post_with_retries(client, call, stats)
        if response is None:
            stats["error"] += 1
        elif response.status_code == 202:
            stats["accepted"] += 1
            if ack_log:
                answer = response.json()
                line = {"channel": call.channel, "ids": answer["ids"], "at": time.time()}
                ack_log.write(json.dumps({**line, "customer_key": answer["customer_key"]}) + "\n")
        elif 400 <= response.status_code < 500:
            stats["rejected"] += 1
            print(f"\nsimulate: {call.channel} rejected: {response.text[:300]}", file=sys.stderr)
        else:
            stats["error"] += 1
    finally:
        gate.release()


async def _post_with_retries(
    client: httpx.AsyncClient, call: Call, stats: Counter[str]
) -> httpx.Response | None:
    """The answer to `call`, retried on 5xx and on no answer at all; None when it never
    got one within RETRY_FOR seconds."""
    started, attempt = time.monotonic(), 0
    while True:
        try:
            if isinstance(call.body, bytes):
                response = await client.post(
                    f"/v1/ingest/{call.channel}",
                    content=call.body,
                    headers={"Content-Type": call.content_type},
                )
            else:
                response = await client.post(f"/v1/ingest/{call.channel}", json=call.body)
            if response.status_code < 500:
                return response
            wait = float(response.headers.get("Retry-After", "1"))
        except httpx.HTTPError:
            wait = 0.5
            response = None
        attempt += 1
        if time.monotonic() - started + wait > RETRY_FOR:
            return response
        stats["retried"] += 1
        await asyncio.sleep(min(wait * attempt, 5.0))


def _progress(stats: Counter[str], sent: int, started: float, interactive: bool) -> None:
    elapsed = time.monotonic() - started
    channels = " ".join(f"{c} {stats[c]}" for c in ("phone", "counter", "web", "email"))
    line = (
        f"[{elapsed:7.1f}s] sent {sent}  accepted {stats['accepted']}  "
        f"rejected {stats['rejected']}  retried {stats['retried']}  errors {stats['error']}  "
        f"| {channels}  | "
        f"{sent / elapsed if elapsed else 0:.1f}/s"
    )
    print(("\r" + line) if interactive else line, end="" if interactive else "\n", flush=True)
