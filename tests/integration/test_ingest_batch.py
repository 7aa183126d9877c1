"""The batch endpoint of a running API against the real broker: stored items' events are
on the topic (sealed, no plain BSN) before the answer, refused items name index and field."""

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.kafka import TopicTail
from harness.processes import RunningApi
from schemas.envelope import decode
from schemas.topics import EVENTS
from services.settings import Settings

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
WEB = json.loads((EXAMPLES / "web-digid.json").read_text())
PHONE = json.loads((EXAMPLES / "phone-answered.json").read_text())
BSN = WEB["auth"]["bsn"]


@pytest.fixture
async def client(api: RunningApi) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {api.token}"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30) as client:
        yield client


def forms(n: int) -> list[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    return [
        {
            **WEB,
            "submission_id": f"batch-it-{run}-{i}",
            "message": f"Mijn BSN is {BSN}; de tegel ligt los bij nummer {i}.",
        }
        for i in range(n)
    ]


async def test_a_batch_is_on_the_topic_sealed_before_the_202(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    items = forms(25)
    async with TopicTail(settings.kafka_bootstrap, EVENTS) as tail:
        response = await client.post("/v1/ingest/web/batch", json=items)
        assert response.status_code == 202, response.text
        results = response.json()["results"]
        ids = {i for r in results for i in r["ids"]}
        records = await tail.until(ids)
    mine = [r for r in records if decode(r.value).id in ids]
    assert len(mine) == len(ids) == 50  # a contact and a request per form
    for record in mine:
        assert BSN.encode() not in record.value
        assert b"tegel ligt los" not in record.value  # the message is sealed
        assert record.key == decode(record.value).subject.encode()


async def test_invalid_items_are_named_and_the_others_reach_the_topic(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    run = uuid.uuid4().hex[:8]
    items = [
        {**PHONE, "call_id": f"batch-it-{run}-{i}", "caller": f"06{40_000_000 + i}"}
        for i in range(4)
    ]
    items[2]["caller"] = "bel mij"
    items[3]["direction"] = "sideways"
    async with TopicTail(settings.kafka_bootstrap, EVENTS) as tail:
        response = await client.post("/v1/ingest/phone/batch", json=items)
        assert response.status_code == 207, response.text
        body = response.json()
        stored = {i for r in body["results"] if r["status"] == 202 for i in r["ids"]}
        records = await tail.until(stored)
    assert stored <= {decode(r.value).id for r in records}
    assert [r["status"] for r in body["results"]] == [202, 202, 422, 422]
    assert body["results"][2]["errors"][0]["field"] == "[2].caller"
    assert body["results"][3]["errors"][0]["field"] == "[3].direction"


async def test_limits_are_named(client: httpx.AsyncClient, settings: Settings) -> None:
    too_many = [PHONE] * (settings.ingest_batch_max_items + 1)
    response = await client.post("/v1/ingest/phone/batch", json=too_many)
    assert response.status_code == 413
    assert response.json()["limit"] == "CONTACTMOMENT_INGEST_BATCH_MAX_ITEMS"
    huge = b"[" + b" " * (settings.max_batch_bytes + 1) + b"]"
    response = await client.post(
        "/v1/ingest/phone/batch", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "CONTACTMOMENT_MAX_BATCH_BYTES" in response.json()["detail"]
