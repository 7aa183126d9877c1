from collections.abc import AsyncIterator

import httpx
import pytest

from services.api.app import create_app
from services.ingest.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.settings import Settings

TOKEN = "unit-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
async def client(publisher: MemoryPublisher) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(max_json_bytes=64 * 1024, max_email_bytes=256 * 1024)
    app = create_app(
        settings,
        publisher=publisher,
        api_token=TOKEN,
        pseudonym_key="unit-test-pseudonym-key-0123",
        sealer=memory_sealer(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
