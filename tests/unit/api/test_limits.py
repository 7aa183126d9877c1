"""Limits before work: a body over its route's limit is refused before the app reads it or
authenticates anyone; deep JSON is a 400 naming the limit; logins and searches are rate
limited per caller."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.app import create_app
from services.api.limits import SMALL_BODY, too_deep
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.settings import Settings
from tests.unit.api.conftest import AUTH, TOKEN

FIVE_MB = 5 * 1024 * 1024


class CountingReceive:
    """Wraps an ASGI app and counts the bytes and messages the app pulled from the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.messages = 0
        self.bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.messages += 1
                self.bytes += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@asynccontextmanager
async def counted_client(
    **settings: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, CountingReceive]]:
    app = create_app(
        Settings(max_json_bytes=64 * 1024, max_email_bytes=256 * 1024, **settings),
        publisher=MemoryPublisher(),
        api_token=TOKEN,
        pseudonym_key="unit-test-pseudonym-key-0123",
        sealer=memory_sealer(),
    )
    counting = CountingReceive(app)
    transport = httpx.ASGITransport(app=counting)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, counting


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["limit_bytes"] == limit
    assert str(limit) in problem["detail"]


async def test_a_declared_5_mb_search_without_a_token_is_413_and_never_read() -> None:
    async with counted_client() as (client, counting):
        response = await client.post(
            "/v1/customers/search",
            content=b"{" + b" " * FIVE_MB + b"}",
            headers={"Content-Type": "application/json"},
        )
    assert_too_large(response, SMALL_BODY)  # not 401: no authentication work was done
    assert counting.messages == 0


async def test_a_declared_5_mb_login_is_413_and_never_read() -> None:
    for path in ("/ui/login", "/ui/mijn/login"):
        async with counted_client() as (client, counting):
            response = await client.post(
                path,
                content=b"token=" + b"x" * FIVE_MB,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        assert_too_large(response, SMALL_BODY)
        assert counting.messages == 0


async def test_a_chunked_body_is_cut_at_the_limit() -> None:
    chunk = b"x" * 4096

    async def endless() -> AsyncIterator[bytes]:
        yield b"token="
        for _ in range(FIVE_MB // len(chunk)):
            yield chunk

    async with counted_client() as (client, counting):
        response = await client.post(
            "/ui/login",
            content=endless(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert "content-length" not in response.request.headers  # really chunked
    assert_too_large(response, SMALL_BODY)
    assert counting.bytes <= SMALL_BODY + len(chunk)  # read up to the limit, not the rest


async def test_a_chunked_email_is_cut_at_the_email_limit() -> None:
    chunk = b"x" * 16384

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(FIVE_MB // len(chunk)):
            yield chunk

    async with counted_client() as (client, counting):
        response = await client.post(
            "/v1/ingest/email",
            content=endless(),
            headers={**AUTH, "Content-Type": "message/rfc822"},
        )
    assert_too_large(response, 256 * 1024)
    assert counting.bytes <= 256 * 1024 + len(chunk)


async def test_the_json_ingest_limit_is_the_setting() -> None:
    async with counted_client() as (client, counting):
        response = await client.post(
            "/v1/ingest/phone",
            content=b"{" + b" " * (64 * 1024) + b"}",
            headers={"Content-Type": "application/json"},  # no token: refused before auth
        )
    assert_too_large(response, 64 * 1024)
    assert "CONTACTMOMENT_MAX_JSON_BYTES" in response.json()["detail"]
    assert counting.messages == 0


@pytest.mark.parametrize(
    "path", ["/v1/ingest/phone", "/v1/customers/search", "/v1/requests/web-1/events"]
)
async def test_deep_json_is_400_naming_the_limit(path: str) -> None:
    body = b"[" * 10_000 + b"]" * 10_000
    if path == "/v1/customers/search":
        body = b'{"bsn": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"  # under the small limit
    async with counted_client() as (client, _):
        response = await client.post(
            path, content=body, headers={**AUTH, "Content-Type": "application/json"}
        )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "32" in response.json()["detail"] and "nest" in response.json()["detail"]


async def test_ordinary_json_still_passes() -> None:
    async with counted_client() as (client, _):
        response = await client.post(
            "/v1/customers/search",
            content=b'{"email": "a[b]{c}@example.nl"}',
            headers={**AUTH, "Content-Type": "application/json", "X-Purpose": "x"},
        )
    assert response.status_code not in (400, 413), response.text


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not too_deep(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 32)
    assert not too_deep(b'{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 32)
    assert not too_deep(b"[" * 32 + b"]" * 32, 32)
    assert too_deep(b"[" * 33 + b"]" * 33, 32)
    assert too_deep(b'{"a":' * 33 + b"1" + b"}" * 33, 32)
    assert not too_deep(b"[[]]" * 1000, 32)  # many containers, shallow


async def test_the_eleventh_login_in_a_minute_is_429_with_retry_after() -> None:
    async with counted_client() as (client, _):
        answers = [
            await client.post(
                "/ui/login",
                content=b"token=wrong",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            for _ in range(11)
        ]
    assert 429 not in [a.status_code for a in answers[:10]]  # refused for the token
    assert answers[10].status_code == 429
    assert answers[10].headers["content-type"] == "application/problem+json"
    assert 0 < int(answers[10].headers["retry-after"]) <= 60


async def test_resident_logins_and_staff_logins_are_each_limited() -> None:
    async with counted_client(login_attempts_per_minute=2) as (client, _):
        codes = [
            (
                await client.post(
                    "/ui/mijn/login",
                    content=b"token=wrong",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
            ).status_code
            for _ in range(3)
        ]
    assert 429 not in codes[:2] and codes[2] == 429


async def test_searches_are_limited_per_staff_member() -> None:
    async with counted_client(
        searches_per_minute=3, database_url="postgresql://x@127.0.0.1:1/x"
    ) as (client, _):
        codes = [
            (
                await client.post(
                    "/v1/customers/search",
                    json={"email": "iemand@example.nl"},
                    headers={**AUTH, "X-Purpose": "klantvraag"},
                )
            ).status_code
            for _ in range(4)
        ]
    assert 429 not in codes[:3] and codes[3] == 429
