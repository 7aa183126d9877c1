from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from services.api.app import create_app
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import Sealer, memory_sealer
from services.settings import Settings

TOKEN = "unit-test-static-token-0123456789abcdef"  # the static token: 32+ characters
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@asynccontextmanager
async def unit_client(
    publisher: MemoryPublisher, sealer: Sealer | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process: memory publisher and sealer, the static token, small limits."""
    app = create_app(
        Settings(max_json_bytes=64 * 1024, max_email_bytes=256 * 1024, **settings),
        publisher=publisher,
        api_token=TOKEN,
        pseudonym_key="unit-test-pseudonym-key-0123",
        sealer=sealer or memory_sealer(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def client(publisher: MemoryPublisher) -> AsyncIterator[httpx.AsyncClient]:
    async with unit_client(publisher) as client:
        yield client
