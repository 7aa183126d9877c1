"""The search form's answers that need no read model: the form itself (labels, POST), a
missing CSRF token, nothing typed, no purpose, an invalid BSN, and signed out. The app
here has no database: each of these is answered before one is needed."""

from collections.abc import AsyncIterator

import httpx
import pytest

from services.kafka.publisher import MemoryPublisher
from tests.unit.api.conftest import TOKEN, unit_client
from tests.unit.api.forms import csrf_of

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


async def test_the_start_page_is_a_posted_search_form(client: httpx.AsyncClient) -> None:
    page = await client.get("/ui/", headers=SIGNED_IN)
    assert page.status_code == 200
    assert '<form method="post" action="/ui/zoeken"' in page.text
    for label in ("BSN", "KvK-nummer", "E-mailadres", "Telefoonnummer", "Doel"):
        assert f">{label}</label>" in page.text
    assert ">Zoeken</button>" in page.text
    assert page.text.count("<h1>") == 1
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({"bsn": "123456789", "purpose": "klantcontact"}, 422, "BSN is niet geldig"),
        ({"purpose": "klantcontact"}, 422, "Vul minstens één"),
        ({"bsn": "111222333"}, 422, "Kies of schrijf bij Doel"),
        ({"kvk": "12", "purpose": "klantcontact"}, 422, "KvK-nummer is niet geldig"),
    ],
)
async def test_bad_input_is_a_message_on_the_page(
    client: httpx.AsyncClient,
    publisher: MemoryPublisher,
    data: dict[str, str],
    status: int,
    says: str,
) -> None:
    csrf = await csrf_of(client, "/ui/", SIGNED_IN)
    answer = await client.post("/ui/zoeken", data={**data, "csrf": csrf}, headers=OURS)
    assert answer.status_code == status, answer.text
    assert says in answer.text and 'role="alert"' in answer.text
    assert publisher.records == []  # nothing searched, nothing logged


async def test_a_search_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    answer = await client.post(
        "/ui/zoeken", data={"bsn": "111222333", "purpose": "klantcontact"}, headers=OURS
    )
    assert answer.status_code == 403 and "formulier is verlopen" in answer.text
    assert publisher.records == []


async def test_signed_out_the_search_goes_to_the_login(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/ui/zoeken", data={"bsn": "111222333"}, headers={"Origin": "http://test"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/login?next=/ui/"
    assert "111222333" not in answer.headers["location"]
    for path in ("/ui/customers/k-" + "0" * 32 + "/stap", "/ui/contact"):
        posted = await client.post(path, data={}, headers={"Origin": "http://test"})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/ui/login")


DEPARTMENTS = "Burgerzaken, Vergunningen,Burgerzaken"


async def test_with_departments_configured_a_callback_goes_to_one_of_them_only() -> None:
    """A typed department that matches no staff token would send a callback where nobody
    sees it: with CONTACTMOMENT_DEPARTMENTS set the form offers the list, and a name not
    in it is refused on the page with nothing published."""
    publisher = MemoryPublisher()
    async with unit_client(
        publisher, database_url="postgresql://nobody@127.0.0.1:1/none", departments=DEPARTMENTS
    ) as client:
        page = await client.get("/ui/", headers=SIGNED_IN)
        assert '<select id="c-department" name="department">' in page.text
        assert page.text.count('<option value="Burgerzaken"') == 1  # each once, in order
        assert page.text.index("Burgerzaken") < page.text.index("Vergunningen")
        csrf = await csrf_of(client, "/ui/", SIGNED_IN)
        form = {
            "csrf": csrf,
            "form_id": "f-1",
            "purpose": "klantcontact",
            "bsn": "111222333",
            "channel": "phone",
            "subject": "paspoort",
            "outcome": "callback-requested",
            "callback": "ja",
            "callback_phone": "0612345678",
        }
        refused = await client.post(
            "/ui/contact", data={**form, "department": "Vergunning"}, headers=OURS
        )
        assert refused.status_code == 422, refused.text
        assert "Afdeling" in refused.text and "kies een afdeling uit de lijst" in refused.text
        assert publisher.records == []
        await client.post("/ui/contact", data={**form, "department": "Vergunningen"}, headers=OURS)
        opened = [r for r in publisher.records if b"request.opened" in r.value]
        assert len(opened) == 1 and b"Vergunningen" in opened[0].value


async def test_without_departments_configured_the_department_is_typed(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/ui/", headers=SIGNED_IN)
    assert '<input id="c-department" name="department" maxlength="100"' in page.text


async def test_a_typed_department_longer_than_the_worklist_filter_takes_is_refused(
    client: httpx.AsyncClient, publisher: MemoryPublisher
) -> None:
    """The form's maxlength is the browser's; the server holds the same 100 characters, or
    the callback would go to a department no worklist filter can name."""
    csrf = await csrf_of(client, "/ui/", SIGNED_IN)
    form = {
        "csrf": csrf,
        "form_id": "f-long",
        "purpose": "klantcontact",
        "bsn": "111222333",
        "channel": "phone",
        "subject": "paspoort",
        "outcome": "callback-requested",
        "callback": "ja",
        "callback_phone": "0612345678",
        "department": "V" * 101,
    }
    refused = await client.post("/ui/contact", data=form, headers=OURS)
    assert refused.status_code == 422, refused.text
    assert "Afdeling" in refused.text and "te lang" in refused.text
    assert publisher.records == []
