"""Staff reads need an X-Purpose, refused before anything is read; and ingest publishes
personal text sealed only.

The refusals come from the `purpose` dependency, which FastAPI resolves before the handler
body opens a database connection: an app whose database cannot be reached still answers 400
without a purpose (and 503 with one), so these tests need no PostgreSQL.
"""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from schemas.envelope import decode
from schemas.events import ContactRecorded
from schemas.identifiers import IdentifierKind, mask, normalise
from schemas.sealed import SEALED
from services.api.access import load_activities
from services.kafka.publisher import MemoryPublisher
from services.privacy import sealing
from services.privacy.sealer import memory_sealer
from services.settings import Settings
from tests.unit.api.conftest import AUTH, unit_client

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
CUSTOMER = "k-" + uuid.uuid4().hex
READS = [
    ("GET", f"/v1/customers/{CUSTOMER}", None),
    ("GET", f"/v1/customers/{CUSTOMER}/timeline", None),
    ("GET", "/v1/requests/web-form-1", None),
    ("POST", "/v1/customers/search", {"email": "j.de.vries@example.nl"}),
]


def registered() -> list[str]:
    ids = sorted(load_activities(Settings().processing_activities))
    assert ids, "no registered processing activities to name"
    return ids


async def read(
    client: httpx.AsyncClient, method: str, path: str, body: object, purpose: str | None
) -> httpx.Response:
    headers = dict(AUTH) if purpose is None else {**AUTH, "X-Purpose": purpose}
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), READS)
@pytest.mark.parametrize("purpose", [None, "", "   "], ids=["absent", "empty", "blank"])
async def test_a_staff_read_without_a_purpose_is_400_naming_the_registered_ids(
    client: httpx.AsyncClient,
    publisher: MemoryPublisher,
    method: str,
    path: str,
    body: object,
    purpose: str | None,
) -> None:
    response = await read(client, method, path, body, purpose)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert "X-Purpose" in problem["detail"]
    for activity in registered():
        assert activity in problem["detail"]
    assert publisher.records == []  # refused reads leave no access record


@pytest.mark.parametrize(("method", "path", "body"), READS)
async def test_a_purpose_over_500_characters_is_400(
    client: httpx.AsyncClient, publisher: MemoryPublisher, method: str, path: str, body: object
) -> None:
    response = await read(client, method, path, body, "x" * 501)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "500" in response.json()["detail"]
    assert "X-Purpose" in response.json()["detail"]
    assert publisher.records == []


@pytest.fixture
async def no_database() -> AsyncIterator[httpx.AsyncClient]:
    """The unit app with a read model nobody listens on: any database use answers 503."""
    async with unit_client(
        MemoryPublisher(), database_url="postgresql://nobody@127.0.0.1:1/none"
    ) as client:
        yield client


async def test_the_purpose_is_checked_before_the_database_is_touched(
    no_database: httpx.AsyncClient,
) -> None:
    path = f"/v1/customers/{CUSTOMER}"
    assert (await read(no_database, "GET", path, None, None)).status_code == 400
    assert (await read(no_database, "GET", path, None, "y" * 501)).status_code == 400
    # with a valid purpose the read goes on to the database, which is not there
    reached = await read(no_database, "GET", path, None, registered()[0])
    assert reached.status_code == 503, reached.text
    assert "PostgreSQL" in reached.json()["detail"]


async def test_an_ingest_call_publishes_its_text_sealed() -> None:
    keys: dict[tuple[str, date], tuple[str, bytes]] = {}
    publisher = MemoryPublisher()
    call = json.loads((EXAMPLES / "phone-callback.json").read_text())
    masked = {
        mask(IdentifierKind.BSN, normalise(IdentifierKind.BSN, call["bsn"])),
        mask(IdentifierKind.PHONE, normalise(IdentifierKind.PHONE, call["caller"])),
    }
    async with unit_client(publisher, memory_sealer(keys)) as client:
        response = await client.post("/v1/ingest/phone", json=call, headers=AUTH)
    assert response.status_code == 202, response.text

    assert publisher.records
    for record in publisher.records:
        raw = record.value.decode()
        assert call["notes"] not in raw
        for shown in masked:
            assert shown not in raw
        assert call["bsn"] not in raw

    events = [decode(r.value) for r in publisher.records]
    contacts = [e for e in events if isinstance(e.data, ContactRecorded)]
    assert len(contacts) == 1
    data = contacts[0].data
    assert isinstance(data, ContactRecorded)
    assert data.summary is not None
    assert SEALED.match(data.summary)
    assert all(SEALED.match(i.masked) for i in data.identifiers)
    assert data.subject == call["subject"]  # the facts stay readable

    # sealed with the customer's key of that month, and it opens to what was sent
    assert len(keys) == 1
    [(key_id, data_key)] = keys.values()
    assert sealing.key_ids(contacts[0]) == {key_id}
    opened = sealing.open_event(contacts[0], {key_id: data_key}).data
    assert isinstance(opened, ContactRecorded)
    assert opened.summary == call["notes"]
    assert {i.masked for i in opened.identifiers} == masked
