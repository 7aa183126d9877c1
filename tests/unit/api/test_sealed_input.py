"""Callers cannot submit text that looks sealed: a value copied from a topic (or forged)
would otherwise pass the sealer untouched and open in another customer's record."""

import json
from pathlib import Path

import pytest

from services.kafka.publisher import MemoryPublisher
from tests.unit.api.conftest import AUTH, unit_client

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
LOOKS_SEALED = "enc:v1:" + "0123456789abcdef" * 2 + ":" + "A" * 60


@pytest.mark.parametrize(
    ("example", "field", "named"),
    [
        ("phone-callback.json", "notes", "notes"),
        ("phone-callback.json", "subject", "subject"),
        ("web-digid.json", "message", "message"),
    ],
)
async def test_a_json_channel_refuses_sealed_looking_text_naming_the_field(
    example: str, field: str, named: str
) -> None:
    publisher = MemoryPublisher()
    payload = json.loads((EXAMPLES / example).read_text())
    payload[field] = LOOKS_SEALED
    endpoint = "phone" if example.startswith("phone") else "web"
    async with unit_client(publisher) as client:
        response = await client.post(f"/v1/ingest/{endpoint}", json=payload, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in [e["field"] for e in response.json()["errors"]]
    assert publisher.records == []


async def test_an_email_body_that_looks_sealed_is_refused_naming_the_field() -> None:
    publisher = MemoryPublisher()
    raw = (EXAMPLES / "email-new-question.eml").read_bytes()
    head, _, _ = raw.partition(b"\r\n\r\n")
    async with unit_client(publisher) as client:
        response = await client.post(
            "/v1/ingest/email",
            content=head + b"\r\n\r\n" + LOOKS_SEALED.encode() + b"\r\n",
            headers={**AUTH, "Content-Type": "message/rfc822"},
        )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["summary"]
    assert publisher.records == []
