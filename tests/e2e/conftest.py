"""The whole stack for end-to-end tests: a real API process and a real projector."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from services.settings import Settings
from tests.integration.running_api import RunningApi, RunningProcess, start_api, start_projector


@pytest.fixture(scope="session")
def api(settings: Settings) -> Iterator[RunningApi]:
    running = start_api(args=("--log-level", "info"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def projector(settings: Settings) -> Iterator[RunningProcess]:
    running = start_projector()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(api: RunningApi, projector: RunningProcess) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {api.token}", "X-Purpose": "e2e-test"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30) as client:
        yield client
