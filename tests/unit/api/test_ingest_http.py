"""The ingest edge: 202 only after the publisher took every event; clear 4xx, nothing written."""

import json
from pathlib import Path

import httpx
import pytest

from schemas.envelope import decode
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import MemoryKeys, memory_sealer
from tests.unit.api.conftest import AUTH, unit_client

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())


async def post_example(client: httpx.AsyncClient, name: str) -> httpx.Response:
    spec = EXPECTED[name]
    raw = (EXAMPLES / name).read_bytes()
    ctype = "message/rfc822" if name.endswith(".eml") else "application/json"
    return await client.post(
        f"/v1/ingest/{spec['endpoint']}", content=raw, headers={**AUTH, "Content-Type": ctype}
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_documented_examples_produce_the_contract_events(
    client: httpx.AsyncClient, publisher: MemoryPublisher, name: str
) -> None:
    response = await post_example(client, name)
    assert response.status_code == 202, response.text
    body = response.json()
    events = [decode(r.value) for r in publisher.records]
    assert [
        e.type.value.removeprefix("nl.contactmoment.").removesuffix(".v1") for e in events
    ] == EXPECTED[name]["types"]
    assert body["ids"] == [e.id for e in events]
    assert {e.subject for e in events} == {body["customer_key"]}
    assert {r.key for r in publisher.records} == {body["customer_key"].encode()}
    assert all(r.topic == "contact.events.v1" for r in publisher.records)


async def test_a_retried_call_gets_the_same_ids_and_is_not_written_twice(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    first = await post_example(client, "phone-callback.json")
    again = await post_example(client, "phone-callback.json")
    assert first.status_code == again.status_code == 202
    assert first.json()["ids"] == again.json()["ids"]
    assert again.json()["duplicate"] is True
    assert len(publisher.records) == 2


async def test_kafka_unavailable_is_503_with_retry_after(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    publisher.down = True
    response = await post_example(client, "web-digid.json")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert "nothing was stored" in response.json()["detail"]
    publisher.down = False
    retried = await post_example(client, "web-digid.json")
    assert retried.status_code == 202  # the retry is not mistaken for a duplicate

    assert response.json()["title"] == "Kafka unavailable"


async def test_key_store_outage_is_its_own_503_and_nothing_is_published() -> None:
    publisher, keys = MemoryPublisher(), MemoryKeys()
    keys.down = True
    async with unit_client(publisher, memory_sealer(keys)) as client:
        response = await post_example(client, "phone-callback.json")
        assert response.status_code == 503
        problem = response.json()
        assert problem["title"] == "Key store unavailable"
        assert "key store" in problem["detail"]
        assert "Kafka unavailable" not in response.text
        assert "nothing was stored" in problem["detail"]
        assert int(response.headers["retry-after"]) > 0
        assert publisher.records == []
        keys.down = False
        assert (await post_example(client, "phone-callback.json")).status_code == 202


async def test_an_event_over_the_record_limit_is_413_naming_it_and_not_retried() -> None:
    publisher = MemoryPublisher(max_record_bytes=600)
    async with unit_client(publisher) as client:
        response = await post_example(client, "phone-callback.json")
    assert response.status_code == 413, response.text
    problem = response.json()
    assert problem["title"] == "Record too large"
    assert problem["limit_bytes"] == 600
    assert "600 bytes" in problem["detail"]
    assert "retry-after" not in response.headers
    assert publisher.records == []


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dXNlcjpwdw=="}]
)
async def test_no_valid_token_is_401(
    client: httpx.AsyncClient, publisher: MemoryPublisher, headers: dict[str, str]
) -> None:
    response = await client.post("/v1/ingest/phone", json={}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert publisher.records == []


async def test_wrong_content_type_is_415(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    raw = (EXAMPLES / "phone-answered.json").read_bytes()
    response = await client.post(
        "/v1/ingest/phone", content=raw, headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    email = await client.post(
        "/v1/ingest/email",
        content=b"From: a@b.nl\r\n\r\nx",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert email.status_code == 415
    assert "message/rfc822" in email.json()["detail"]
    assert publisher.records == []


async def test_body_over_the_limit_is_413(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    big = {"call_id": "x", "notes": "a" * (65 * 1024)}
    response = await client.post("/v1/ingest/phone", json=big, headers=AUTH)
    assert response.status_code == 413
    assert "65536 bytes" in response.json()["detail"]
    assert publisher.records == []


async def test_invalid_fields_are_422_naming_each_field(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    form = json.loads((EXAMPLES / "web-digid.json").read_text())
    form["auth"]["bsn"] = "123456789"
    form["contact"]["phone"] = "12"
    form["request_type"] = "wish"
    response = await client.post("/v1/ingest/web", json=form, headers=AUTH)
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422
    fields = {e["field"]: e["problem"] for e in problem["errors"]}
    assert fields["auth.bsn"] == "fails the 11-check"
    assert fields["contact.phone"] == "is not a valid phone number"
    assert "request_type" in fields
    assert "auth.bsn: fails the 11-check" in problem["detail"]
    assert "123456789" not in response.text  # the rejected value is not echoed
    assert publisher.records == []


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/ingest/counter", content=b"{nope", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["title"] == "Malformed JSON"


async def test_unusable_email_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/ingest/email",
        content=b"Subject: hi\r\n\r\nno sender",
        headers={**AUTH, "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "From", "problem": "missing, or not an e-mail address"}
    ]


async def test_unknown_path_is_a_problem_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing", headers=AUTH)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_openapi_documents_the_channel_payloads(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for name in ("PhoneCall", "CounterVisit", "WebSubmission"):
        assert name in schemas
    ref = doc["paths"]["/v1/ingest/phone"]["post"]["requestBody"]["content"]["application/json"]
    assert ref["schema"]["$ref"] == "#/components/schemas/PhoneCall"


async def test_metrics_count_ingest_results(client: httpx.AsyncClient) -> None:
    await post_example(client, "counter-served.json")
    await client.post("/v1/ingest/counter", json={"visit_id": "x"}, headers=AUTH)
    text = (await client.get("/metrics/")).text
    assert 'contactmoment_ingest_total{channel="counter",result="accepted"}' in text
    assert 'contactmoment_ingest_total{channel="counter",result="rejected"}' in text


async def test_handlers_reach_the_typed_services_only_through_create_app() -> None:
    from fastapi import FastAPI
    from starlette.requests import Request

    from services.api.state import services

    bare = FastAPI()
    request = Request({"type": "http", "app": bare, "headers": []})
    with pytest.raises(TypeError, match="create_app"):
        services(request)
