"""The worklist is a read of personal data like the others: a purpose, and one access record
per customer on the page, published in one call; a staff action's actor is the token's.

The read model is replaced by canned rows (the handlers' queries are tested against
PostgreSQL in tests/integration), so these tests pin what the API does around them.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import pytest

from schemas.envelope import decode
from schemas.events import AccessLogged
from services.api import staff_routes
from services.kafka.publisher import MemoryPublisher, Record
from services.privacy import sealing
from services.privacy.sealer import memory_sealer
from tests.unit.api.conftest import AUTH, unit_client

A, B = "k-" + "a" * 32, "k-" + "b" * 32
ROWS = [
    {"request_id": "web-1", "customer_key": A, "subject": "Afval", "vulnerable": False},
    {"request_id": "web-2", "customer_key": B, "subject": "Paspoort", "vulnerable": True},
    {"request_id": "web-3", "customer_key": A, "subject": "Parkeren", "vulnerable": False},
]


class CountingPublisher(MemoryPublisher):
    """The memory publisher, counting how many calls reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def _write(self, records: Sequence[Record]) -> None:
        self.calls += 1
        await super()._write(records)


@pytest.fixture
def read_model(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Canned answers for the read-model queries the staff routes make."""
    seen: dict[str, Any] = {}

    @asynccontextmanager
    async def connection(request: object) -> AsyncIterator[object]:
        yield object()

    async def requests(conn: object, **filters: Any) -> list[dict[str, Any]]:
        seen["filters"] = filters
        return [dict(row) for row in ROWS]

    async def scope(conn: object, **kwargs: Any) -> tuple[list[str | None], bool]:
        return ["Burgerzaken"], False

    async def owner(conn: object, request_id: str) -> str:
        return A

    monkeypatch.setattr(staff_routes, "connection", connection)
    monkeypatch.setattr(staff_routes.worklist, "requests", requests)
    monkeypatch.setattr(staff_routes.worklist, "scope", scope)
    monkeypatch.setattr(staff_routes.worklist, "owner", owner)
    return seen


@pytest.fixture
async def counted(read_model: dict[str, Any]) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    publisher = CountingPublisher()
    async with unit_client(publisher) as client:
        yield client, publisher


async def test_the_worklist_without_a_purpose_is_400(
    counted: tuple[httpx.AsyncClient, CountingPublisher],
) -> None:
    client, publisher = counted
    response = await client.get("/v1/requests", headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-Purpose" in response.json()["detail"]
    assert publisher.records == []


async def test_the_worklist_records_each_customer_listed_in_one_call(
    counted: tuple[httpx.AsyncClient, CountingPublisher],
) -> None:
    client, publisher = counted
    response = await client.get("/v1/requests", headers={**AUTH, "X-Purpose": "werkvoorraad"})
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 3
    assert publisher.calls == 1
    events = [decode(r.value) for r in publisher.records]
    assert sorted(e.subject for e in events) == [A, B]  # one per customer, not per request
    for event in events:
        assert isinstance(event.data, AccessLogged)
        assert event.data.name == "werkvoorraad raadplegen"
        assert event.data.endpoint == "GET /v1/requests"
        assert event.data.role == "kcc"


async def test_a_free_text_purpose_is_stored_without_a_bsn(
    counted: tuple[httpx.AsyncClient, CountingPublisher],
) -> None:
    client, publisher = counted
    purpose = "terugbellen over bsn 123 456 782"
    response = await client.get("/v1/requests", headers={**AUTH, "X-Purpose": purpose})
    assert response.status_code == 200, response.text
    assert publisher.records
    for record in publisher.records:
        assert "782" not in record.value.decode()
        data = decode(record.value).data
        assert isinstance(data, AccessLogged)
        assert data.purpose == "terugbellen over bsn [BSN verwijderd]"


async def test_an_actions_actor_comes_from_the_token_not_the_body(
    counted: tuple[httpx.AsyncClient, CountingPublisher],
) -> None:
    client, publisher = counted
    action = {"type": "answered", "actor": {"kind": "employee", "id": "iemand-anders"}}
    response = await client.post("/v1/requests/web-1/events", json=action, headers=AUTH)
    assert response.status_code == 202, response.text
    [event] = [decode(r.value) for r in publisher.records]
    actor = event.data.actor  # type: ignore[union-attr]
    assert actor.id == "ontwikkeltoken"  # the static token's subject
    assert actor.kind == "employee"
    assert actor.department is None  # the static token has none
    assert "iemand-anders" not in publisher.records[0].value.decode()

    without = await client.post(
        "/v1/requests/web-1/events", json={"type": "acknowledged"}, headers=AUTH
    )
    assert without.status_code == 202, without.text


async def test_a_staff_note_is_redacted(read_model: dict[str, Any]) -> None:
    keys: dict[tuple[str, date], tuple[str, bytes]] = {}
    publisher = MemoryPublisher()
    action = {"type": "interim-update", "note": "gebeld met 123.456.782"}
    async with unit_client(publisher, memory_sealer(keys)) as client:
        response = await client.post("/v1/requests/web-1/events", json=action, headers=AUTH)
    assert response.status_code == 202, response.text
    [event] = [decode(r.value) for r in publisher.records]
    opened = sealing.open_event(event, dict(keys.values()))
    assert opened.data.note == "gebeld met [BSN verwijderd]"  # type: ignore[union-attr]
