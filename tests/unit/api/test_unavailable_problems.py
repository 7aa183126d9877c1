"""5xx answers say what is unavailable and what to do, never where it runs: a host name,
URL or exception text from the cause goes to the log only (an answer is read by whoever
called, a log by the operator)."""

import json
import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.api.app import create_app
from services.kafka.errors import KafkaAdapterError, Unavailable
from services.kafka.publisher import MemoryPublisher, Record
from services.privacy.sealer import Sealer, SealingUnavailable
from services.settings import Settings
from tests.unit.api.conftest import AUTH, TOKEN, unit_client

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
HOST = "db-7.intern.gemeente.example"
CAUSE = f"connection to postgresql://contactmoment@{HOST}:5432/readmodel failed: timeout"


class FailingPublisher(MemoryPublisher):
    """Kafka refusing with a cause that names an internal host."""

    def __init__(self, error: KafkaAdapterError) -> None:
        super().__init__()
        self.error = error

    async def _write(self, records: Sequence[Record]) -> None:
        raise self.error


class Refused(KafkaAdapterError):
    retriable = False
    retry_after = None


def leaks(response: httpx.Response) -> list[str]:
    """The parts of the cause that appear in an answer (none may)."""
    return [part for part in (HOST, "postgresql://", "5432", "timeout") if part in response.text]


async def post_call(client: httpx.AsyncClient) -> httpx.Response:
    call = json.loads((EXAMPLES / "phone-callback.json").read_text())
    return await client.post("/v1/ingest/phone", json=call, headers=AUTH)


@pytest.mark.parametrize(
    ("error", "status"),
    [(Unavailable(CAUSE), 503), (Refused(CAUSE), 500)],
    ids=["unavailable", "refused"],
)
async def test_a_kafka_failure_names_no_host_and_logs_the_cause(
    error: KafkaAdapterError, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with unit_client(FailingPublisher(error)) as client:
        response = await post_call(client)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert leaks(response) == []
    problem = response.json()
    assert "Kafka" in problem["title"]
    assert "nothing was stored" in problem["detail"]
    assert HOST in caplog.text  # the operator finds the cause in the log


async def test_a_key_store_outage_names_no_host_and_logs_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def key_for(customer_key: str, period: date) -> tuple[str, bytes]:
        raise SealingUnavailable(f"the key store is unreachable ({CAUSE})")

    caplog.set_level(logging.WARNING)
    async with unit_client(MemoryPublisher(), Sealer(key_for)) as client:
        response = await post_call(client)
    assert response.status_code == 503, response.text
    assert leaks(response) == []
    assert response.json()["title"] == "Key store unavailable"
    assert "try again" in response.json()["detail"] or "retry" in response.json()["detail"]
    assert HOST in caplog.text


async def test_a_read_model_outage_names_neither_address_nor_exception() -> None:
    async with unit_client(
        MemoryPublisher(), database_url="postgresql://nobody@127.0.0.1:1/none"
    ) as client:
        response = await client.get(
            "/v1/customers/k-" + "0" * 32, headers={**AUTH, "X-Purpose": "klantcontact"}
        )
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    for internal in ("127.0.0.1", "nobody", "ConnectionRefused", "OSError", "Error"):
        assert internal not in response.text
    assert "read model" in response.json()["detail"]
    assert int(response.headers["retry-after"]) > 0


async def test_an_unexpected_error_is_a_500_problem_without_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: FastAPI = create_app(Settings(), publisher=MemoryPublisher(), api_token=TOKEN)

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError(CAUSE)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert leaks(response) == []
    assert "RuntimeError" not in response.text
    assert HOST in caplog.text
