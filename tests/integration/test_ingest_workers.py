"""`contactmoment api --workers 2`: two processes on one port, /metrics summed over both,
SMTP ingress served by exactly one of them."""

import asyncio
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.kafka import TopicTail
from harness.processes import RunningApi, start_api
from schemas.topics import EVENTS
from services.settings import Settings

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
PHONE = json.loads((EXAMPLES / "phone-answered.json").read_text())
METRICS_DIR = Path(tempfile.mkdtemp(prefix="contactmoment-it-metrics-"))


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[RunningApi]:
    running = start_api(
        {"PROMETHEUS_MULTIPROC_DIR": str(METRICS_DIR)},
        args=("--log-level", "info", "--workers", "2"),
    )
    try:
        yield running
    finally:
        running.stop()


def children(parent: int) -> set[int]:
    """uvicorn's worker processes under `parent` (not multiprocessing's resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cmdline = (stat.parent / "cmdline").read_bytes()
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            found.add(int(stat.parent.name))
    return found


def listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "0A":  # LISTEN
                inodes.add(cols[9])
    return inodes


def processes_listening(pids: set[int], port: int) -> set[int]:
    inodes = listening_inodes(port)
    owners = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().name
            except OSError:
                continue
            if (m := re.fullmatch(r"socket:\[(\d+)\]", target)) and m.group(1) in inodes:
                owners.add(pid)
    return owners


def accepted(metrics: str) -> float:
    line = 'contactmoment_ingest_total{channel="phone",result="accepted"} '
    return sum(float(x.removeprefix(line)) for x in metrics.splitlines() if x.startswith(line))


async def test_metrics_are_summed_over_both_processes(api: RunningApi, settings: Settings) -> None:
    workers = children(api.process.pid)
    assert len(workers) == 2, workers
    headers = {"Authorization": f"Bearer {api.token}", "Connection": "close"}
    ids: set[str] = set()
    async with TopicTail(settings.kafka_bootstrap, EVENTS) as tail:
        # A connection per call: the kernel hands each to whichever process accepts first.
        async with httpx.AsyncClient(
            base_url=api.base_url,
            headers=headers,
            limits=httpx.Limits(max_keepalive_connections=0),
            timeout=30,
        ) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/v1/ingest/phone",
                        json={**PHONE, "call_id": f"workers-{i}", "caller": f"06{30_000_000 + i}"},
                    )
                    for i in range(40)
                )
            )
            assert {a.status_code for a in answers} == {202}
            for answer in answers:
                ids.update(answer.json()["ids"])
            await tail.until(ids)
            # Both processes took calls (each writes its own files), and every scrape,
            # whichever process answers it, counts all 40.
            writers = {int(p.stem.rsplit("_", 1)[1]) for p in METRICS_DIR.glob("counter_*.db")}
            assert workers <= writers, (workers, writers)
            for _ in range(6):
                scrape = await client.get("/metrics/")
                assert accepted(scrape.text) == 40


async def test_exactly_one_process_serves_smtp(api: RunningApi, settings: Settings) -> None:
    workers = children(api.process.pid)
    assert len(processes_listening(workers, api.smtp_port)) == 1
    raw = (
        (EXAMPLES / "email-new-question.eml")
        .read_bytes()
        .replace(b"vraag-1@example.nl", b"workers-smtp-1@example.nl")
    )

    def send() -> dict[str, tuple[int, bytes]]:
        with api.smtp() as smtp:
            return smtp.sendmail("jan.jansen@example.nl", ["info@bergenopzoom.nl"], raw)

    # 250 (nothing refused): the listening process answered once Kafka had the events.
    assert await asyncio.to_thread(send) == {}
