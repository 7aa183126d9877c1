"""The batch endpoint: per-item results by index, valid items stored even beside invalid
ones, 202 only once the publisher took every stored item's events, limits named."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.envelope import decode
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import MemoryKeys, memory_sealer
from tests.unit.api.conftest import AUTH, unit_client

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
PHONE = json.loads((EXAMPLES / "phone-answered.json").read_text())
JSON = {**AUTH, "Content-Type": "application/json"}


def calls(n: int, **change: Any) -> list[dict[str, Any]]:
    return [
        {**PHONE, "call_id": f"batch-{i}", "caller": f"06{20_000_000 + i}", **change}
        for i in range(n)
    ]


async def post(client: httpx.AsyncClient, items: Any, channel: str = "phone") -> httpx.Response:
    return await client.post(f"/v1/ingest/{channel}/batch", content=json.dumps(items), headers=JSON)


async def test_a_valid_batch_is_202_with_each_items_ids_in_order(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    response = await post(client, calls(3))
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["refused"]) == (3, 0)
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    published = [decode(r.value) for r in publisher.records]
    assert [e.id for e in published] == [i for r in body["results"] for i in r["ids"]]
    # Each item is its own customer, keyed as the single endpoint keys it.
    single = await client.post("/v1/ingest/phone", content=json.dumps(calls(1)[0]), headers=JSON)
    assert single.json()["customer_key"] == body["results"][0]["customer_key"]
    assert single.json()["ids"] == body["results"][0]["ids"]
    assert single.json().get("duplicate") is True


async def test_notes_are_sealed_in_a_batch_too(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    await post(client, calls(2))
    for record in publisher.records:
        assert b"wachttijd" not in record.value


async def test_an_invalid_item_is_207_naming_its_index_and_field_and_the_rest_are_stored(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    items = calls(3)
    items[1]["caller"] = "not a number"
    items[2].pop("started_at")
    items.append("a string")
    response = await post(client, items)
    assert response.status_code == 207, response.text
    body = response.json()
    assert (body["accepted"], body["refused"]) == (1, 3)
    first, second, third, fourth = body["results"]
    assert first["status"] == 202 and first["ids"]
    assert second["status"] == 422
    assert [e["field"] for e in second["errors"]] == ["[1].caller"]
    assert [e["field"] for e in third["errors"]] == ["[2].started_at"]
    assert fourth["errors"] == [{"field": "[3].body", "problem": "expected a JSON object"}]
    assert "not a number" not in response.text  # refused values are not echoed
    assert {decode(r.value).id for r in publisher.records} == set(first["ids"])


async def test_every_item_invalid_is_a_422_problem_and_nothing_is_stored(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    items = calls(2, caller="x")
    response = await post(client, items)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["[0].caller", "[1].caller"]
    assert publisher.records == []


@pytest.mark.parametrize("body", [{"call_id": "x"}, [], "[]"])
async def test_a_body_that_is_not_a_non_empty_array_is_422(
    client: httpx.AsyncClient, body: Any
) -> None:
    response = await post(client, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


async def test_more_items_than_the_limit_is_413_naming_it(publisher: MemoryPublisher) -> None:
    async with unit_client(publisher, ingest_batch_max_items=5) as client:
        response = await post(client, calls(6))
    assert response.status_code == 413
    assert response.json()["limit"] == "CONTACTMOMENT_INGEST_BATCH_MAX_ITEMS"
    assert response.json()["maximum"] == 5
    assert publisher.records == []


async def test_a_body_over_the_batch_byte_limit_is_413_naming_it(
    publisher: MemoryPublisher,
) -> None:
    async with unit_client(publisher, max_batch_bytes=4096) as client:
        response = await post(client, calls(20))
    assert response.status_code == 413
    assert "CONTACTMOMENT_MAX_BATCH_BYTES" in response.json()["detail"]
    assert publisher.records == []


async def test_kafka_down_is_503_for_the_whole_batch_and_the_retry_stores_it(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    publisher.down = True
    response = await post(client, calls(3))
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    publisher.down = False
    again = await post(client, calls(3))
    assert again.status_code == 202
    assert len(publisher.records) == len([i for r in again.json()["results"] for i in r["ids"]])


async def test_key_store_down_is_503_and_nothing_is_published(publisher: MemoryPublisher) -> None:
    keys = MemoryKeys()
    keys.down = True
    async with unit_client(publisher, sealer=memory_sealer(keys)) as client:
        response = await post(client, calls(2))
    assert response.status_code == 503
    assert publisher.records == []


async def test_a_retried_batch_and_a_repeated_item_are_duplicates_not_written_twice(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    items = calls(2)
    first = await post(client, [*items, items[0]])
    assert first.status_code == 202
    assert first.json()["results"][2]["duplicate"] is True
    written = len(publisher.records)
    again = await post(client, items)
    assert again.status_code == 202
    assert all(r["duplicate"] for r in again.json()["results"])
    assert len(publisher.records) == written


async def test_an_item_over_kafkas_record_limit_is_413_in_its_result() -> None:
    publisher = MemoryPublisher(max_record_bytes=3000)
    async with unit_client(publisher) as client:
        items = calls(2)
        items[1]["notes"] = "lang verhaal " * 1000
        response = await post(client, items)
    assert response.status_code == 207
    big = response.json()["results"][1]
    assert big["status"] == 413 and big["errors"][0]["field"] == "[1].body"
    assert {decode(r.value).id for r in publisher.records} == set(
        response.json()["results"][0]["ids"]
    )


async def test_counter_and_web_have_batches_too(client: httpx.AsyncClient) -> None:
    for channel, name in (("counter", "counter-served.json"), ("web", "web-digid.json")):
        response = await post(client, [json.loads((EXAMPLES / name).read_text())], channel)
        assert response.status_code == 202, response.text


async def test_the_batch_needs_the_channel_role(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/ingest/phone/batch",
        content=json.dumps(calls(1)),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 401
