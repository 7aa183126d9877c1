"""The staff page asks for the purpose with a POST form: a purpose (free text that may hold
personal data) never travels in a URL, where browser history and proxy logs keep it.

The app here has no read model (nothing listens on its address): a request that gets past
the purpose goes on to the database and answers 503, one refused before it does not."""

from collections.abc import AsyncIterator

import httpx
import pytest

from services.kafka.publisher import MemoryPublisher
from tests.unit.api.conftest import TOKEN, unit_client
from tests.unit.api.forms import csrf_of

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


@pytest.mark.parametrize("headers", [SIGNED_IN, {}], ids=["signed-in", "signed-out"])
async def test_a_purpose_in_the_query_is_refused(
    client: httpx.AsyncClient, publisher: MemoryPublisher, headers: dict[str, str]
) -> None:
    response = await client.get(PAGE, params={"purpose": "klantcontact"}, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "formulier" in response.text  # says where to choose the purpose instead
    assert 'method="post"' in response.text
    assert publisher.records == []  # nothing viewed, nothing logged


async def test_the_purpose_form_posts_to_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get(PAGE, headers=SIGNED_IN)
    assert response.status_code == 200, response.text
    assert f'<form method="post" action="{PAGE}">' in response.text
    assert '<label for="doel">' in response.text
    assert 'method="get"' not in response.text


async def test_a_posted_purpose_opens_the_page(client: httpx.AsyncClient) -> None:
    response = await client.post(
        PAGE,
        data={"purpose": "klantcontact", "csrf": await csrf_of(client, PAGE, SIGNED_IN)},
        headers=OURS,
    )
    # past the purpose, on to the customer's read model, which is not there
    assert response.status_code == 503, response.text
    assert "niet beschikbaar" in response.text  # a page that says so, naming no host
    assert "127.0.0.1" not in response.text
    assert response.headers["retry-after"]


@pytest.mark.parametrize(("purpose", "status"), [("", 200), ("  ", 200), ("x" * 501, 400)])
async def test_no_or_too_long_a_purpose_shows_the_form_again(
    client: httpx.AsyncClient, publisher: MemoryPublisher, purpose: str, status: int
) -> None:
    response = await client.post(
        PAGE,
        data={"purpose": purpose, "csrf": await csrf_of(client, PAGE, SIGNED_IN)},
        headers=OURS,
    )
    assert response.status_code == status, response.text
    assert "Waarom bekijkt u dit klantbeeld?" in response.text
    if status == 400:
        assert "500 tekens" in response.text
    assert publisher.records == []


async def test_a_purpose_posted_from_another_site_is_refused(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    response = await client.post(
        PAGE,
        data={"purpose": "klantcontact", "csrf": await csrf_of(client, PAGE, SIGNED_IN)},
        headers={**SIGNED_IN, "Origin": "https://elders.example"},
    )
    assert response.status_code == 403, response.text
    assert publisher.records == []


async def test_a_post_signed_out_goes_to_the_login(client: httpx.AsyncClient) -> None:
    response = await client.post(
        PAGE,
        data={"purpose": "klantcontact", "csrf": await csrf_of(client, PAGE, SIGNED_IN)},
        headers={"Origin": "http://test"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/ui/login?next=/ui/customers/{KEY}"
    assert "klantcontact" not in response.headers["location"]
