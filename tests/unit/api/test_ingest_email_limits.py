"""The e-mail route refuses a message over a limit before parsing it, naming the limit,
and a message the parser cannot take is a 4xx, never a 500."""

from datetime import UTC, datetime, timedelta

import httpx

from schemas.envelope import decode
from schemas.events import ContactRecorded
from services.api.app import create_app
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.settings import Settings
from tests.unit.api.conftest import AUTH, TOKEN, unit_client

MAIL = "message/rfc822"


def many_recipients(count: int) -> bytes:
    to = ",\r\n ".join(f"r{i}@example.nl" for i in range(count))
    return f"From: jan@example.nl\r\nTo: {to}\r\nSubject: veel\r\n\r\ntekst\r\n".encode()


def nested(depth: int) -> bytes:
    parts = [b"From: jan@example.nl\r\nSubject: diep\r\nMIME-Version: 1.0\r\n"]
    for i in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode())
    parts.append(b"Content-Type: text/plain\r\n\r\nbodem\r\n")
    return b"".join(parts)


async def post(client: httpx.AsyncClient, raw: bytes) -> httpx.Response:
    return await client.post(
        "/v1/ingest/email", content=raw, headers={**AUTH, "Content-Type": MAIL}
    )


async def test_a_to_header_of_32k_addresses_is_413_naming_the_limit(
    publisher: MemoryPublisher,
) -> None:
    raw = many_recipients(32_000)
    assert len(raw) > 500_000
    app = create_app(
        Settings(max_email_bytes=1024 * 1024),  # the body fits: the header limit decides
        publisher=publisher,
        api_token=TOKEN,
        pseudonym_key="unit-test-pseudonym-key-0123",
        sealer=memory_sealer(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await post(client, raw)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["limit"] == "CONTACTMOMENT_EMAIL_MAX_HEADER_BYTES"
    assert publisher.records == []


async def test_too_many_recipients_is_422_naming_the_limit(client: httpx.AsyncClient) -> None:
    response = await post(client, many_recipients(500))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["limit"] == "CONTACTMOMENT_EMAIL_MAX_RECIPIENTS"
    assert body["errors"][0]["field"] == "To"


async def test_multipart_nested_2000_deep_is_422_not_500(client: httpx.AsyncClient) -> None:
    response = await post(client, nested(2000))
    assert response.status_code == 422, response.text
    assert response.json()["limit"] == "CONTACTMOMENT_EMAIL_MAX_DEPTH"


async def test_a_forged_date_is_kept_as_a_claim(publisher: MemoryPublisher) -> None:
    raw = (
        b"From: jan@example.nl\r\nTo: info@bergenopzoom.nl\r\nSubject: oud\r\n"
        b"Message-ID: <forged-date@example.nl>\r\nDate: Thu, 01 Jan 2015 00:00:00 +0000\r\n"
        b"\r\ntekst\r\n"
    )
    async with unit_client(publisher) as client:
        before = datetime.now(UTC)
        response = await post(client, raw)
    assert response.status_code == 202, response.text
    contact = decode(publisher.records[0].value)
    assert isinstance(contact.data, ContactRecorded)
    assert contact.data.claimed_date == "Thu, 01 Jan 2015 00:00:00 +0000"
    assert before - timedelta(seconds=1) <= contact.time <= datetime.now(UTC)
