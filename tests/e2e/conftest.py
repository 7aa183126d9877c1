"""The whole stack for end-to-end tests: real API, projector and stream-worker processes,
running second-scale service norms (tests/e2e/fast-norms.toml) so deadlines pass in a test."""

import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from harness.processes import (
    RunningApi,
    RunningProcess,
    free_port,
    start_api,
    start_process,
    start_projector,
    wait_worker_ready,
)
from services.settings import Settings

FAST_NORMS = str(Path(__file__).parent / "fast-norms.toml")


@pytest.fixture(scope="session")
def api(settings: Settings) -> Iterator[RunningApi]:
    running = start_api(args=("--log-level", "info"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def projector(settings: Settings) -> Iterator[RunningProcess]:
    running = start_projector(env={"CONTACTMOMENT_SERVICE_NORMS": FAST_NORMS})
    try:
        yield running
    finally:
        running.stop()


def start_worker(app_id: str, datadir: str) -> RunningProcess:
    port = free_port()
    worker = start_process(
        "worker",
        ["worker", "--app-id", app_id, "--offset-reset", "latest", "--log-level", "info"],
        {
            "CONTACTMOMENT_SERVICE_NORMS": FAST_NORMS,
            "CONTACTMOMENT_LOCAL_DIR": datadir,
            "CONTACTMOMENT_WORKER_METRICS_PORT": str(port),
        },
    )
    worker.metrics_port = port
    wait_worker_ready(worker)
    return worker


@pytest.fixture(scope="session")
def worker_id() -> str:
    return f"e2e-worker-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def worker(settings: Settings, worker_id: str) -> Iterator[RunningProcess]:
    running = start_worker(worker_id, tempfile.mkdtemp(prefix="e2e-worker-"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(api: RunningApi, projector: RunningProcess) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {api.token}", "X-Purpose": "e2e-test"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30) as client:
        yield client
