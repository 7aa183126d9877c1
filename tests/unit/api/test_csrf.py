"""CSRF tokens of the /ui forms (services/api/csrf.py): bound to the sign-in cookie (or,
before sign-in, to an anonymous one), refused when missing, wrong or made for another
cookie, and nothing is done with a refused form."""

from collections.abc import AsyncIterator

import httpx
import pytest

from services.kafka.publisher import MemoryPublisher
from tests.unit.api.conftest import TOKEN, unit_client
from tests.unit.api.forms import csrf_of, login_form

KEY = "k-" + "0" * 32
PAGE = f"/ui/customers/{KEY}"
SIGNED_IN = {"Cookie": f"__Host-contactmoment_token={TOKEN}"}
OURS = {**SIGNED_IN, "Origin": "http://test"}


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
async def client(publisher: MemoryPublisher) -> AsyncIterator[httpx.AsyncClient]:
    async with unit_client(
        publisher, database_url="postgresql://nobody@127.0.0.1:1/none"
    ) as client:
        yield client


async def test_the_token_is_stable_per_sign_in_and_differs_between_sign_ins(
    client: httpx.AsyncClient,
) -> None:
    first = await csrf_of(client, PAGE, SIGNED_IN)
    assert first == await csrf_of(client, PAGE, SIGNED_IN)
    other, _ = await login_form(client)  # bound to an anonymous cookie instead
    assert len(first) == 64 and first != other
    assert TOKEN not in first


@pytest.mark.parametrize("sent", [None, "", "0" * 64, "nonsense"], ids=repr)
async def test_a_form_without_the_right_token_is_refused_and_does_nothing(
    client: httpx.AsyncClient, publisher: MemoryPublisher, sent: str | None
) -> None:
    data = {"purpose": "klantcontact"} | ({} if sent is None else {"csrf": sent})
    response = await client.post(PAGE, data=data, headers=OURS)
    assert response.status_code == 403, response.text
    assert "formulier is verlopen" in response.text  # says what happened and what to do
    assert publisher.records == []


async def test_a_token_of_another_cookie_is_refused(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    theirs, _ = await login_form(client)
    response = await client.post(
        PAGE, data={"purpose": "klantcontact", "csrf": theirs}, headers=OURS
    )
    assert response.status_code == 403
    assert publisher.records == []


async def test_the_login_form_needs_the_token_of_its_anonymous_cookie(
    client: httpx.AsyncClient,
) -> None:
    csrf, cookie = await login_form(client)
    assert "contactmoment_csrf=" in cookie["Cookie"]
    headers = {"Origin": "http://test", **cookie}
    refused = await client.post("/ui/login", data={"token": TOKEN}, headers=headers)
    assert refused.status_code == 403
    assert "formulier is verlopen" in refused.text
    other, _ = await login_form(client)  # another visitor's cookie and token
    assert other != csrf
    crossed = await client.post("/ui/login", data={"token": TOKEN, "csrf": other}, headers=headers)
    assert crossed.status_code == 403
    signed = await client.post("/ui/login", data={"token": TOKEN, "csrf": csrf}, headers=headers)
    assert signed.status_code == 303


async def test_every_post_form_of_the_staff_and_login_pages_carries_the_field(
    client: httpx.AsyncClient,
) -> None:
    for path, headers in (("/ui/login", {}), ("/ui/mijn/login", {}), (PAGE, SIGNED_IN)):
        text = (await client.get(path, headers=headers)).text
        assert text.count('method="post"') == text.count('name="csrf"') > 0, path
