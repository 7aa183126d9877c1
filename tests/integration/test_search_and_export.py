"""Skewed identifiers and long histories on PostgreSQL, through the API in-process.

The read model is a fresh schema written by the projection's own statements; the API runs
in-process (memory publisher) with its connection replaced by one that counts every SQL
statement sent, so the number of round trips is measured, not guessed.

- A phone number that 3,000 BSN customers share: the search answers the 20 with the most
  recent contact, says there are more, records exactly those 20, marks the number shared,
  and sends no more statements than a search that finds one customer.
- A resident with more rows than one page: the export streams every row exactly once,
  page by page; /ui/mijn shows one page of each table and an "older" link holding a cursor.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from domain.customer import view as customer_view
from schemas.envelope import Envelope, decode
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, key_of
from services.api import resident_routes, resident_ui, staff_routes
from services.api.app import create_app
from services.dev.tokens import DEV_ISSUER, ensure_issuer, resident_token, staff_token
from services.ingest.phone import PhoneCall, map_phone_call
from services.ingest.web import WebSubmission, map_web_submission
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.readmodel import customers, resident
from services.readmodel.migrate import migrate
from services.readmodel.projection import plan_batch
from services.readmodel.writes import write_plan
from services.settings import Settings
from tests.e2e.people import new_resident
from tests.unit.api.forms import login_form

PSEUDONYM_KEY = "search-export-integration-key-0123"
P = Pseudonymiser(PSEUDONYM_KEY)
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
SHARED_PHONE = "0201112233"
SHARERS = 3_000
# Statements one search may send, whatever it finds: the candidate keys, their clusters
# (identifiers, claims, links), the role scope and recency, then four for the page's
# summaries. Today's code sent a handful per customer found.
SEARCH_STATEMENTS_MAX = 15


class Counting:
    """An asyncpg connection that records every statement sent through it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.conn, name)
        if name not in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
            return attr

        async def counted(query: str, *args: Any, **kwargs: Any) -> Any:
            self.statements.append(query)
            return await attr(query, *args, **kwargs)

        return counted


@pytest.fixture
async def conn(settings: Settings, unique: str) -> AsyncIterator[asyncpg.Connection]:
    name = f"search_{unique}"
    migrate(settings.database_url, name)
    connection = await asyncpg.connect(settings.database_url, server_settings={"search_path": name})
    try:
        yield connection
    finally:
        await connection.execute(f"DROP SCHEMA {name} CASCADE")
        await connection.close()


@pytest.fixture
def issuer(tmp_path: Path) -> Path:
    ensure_issuer(tmp_path)
    return tmp_path


@pytest.fixture
def counting(conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch) -> Counting:
    """Every read of the API goes through one counting connection to the fresh schema."""
    wrapped = Counting(conn)

    @asynccontextmanager
    async def connection(request: object) -> AsyncIterator[Any]:
        yield wrapped

    for module in (staff_routes, resident_routes, resident_ui):
        monkeypatch.setattr(module, "connection", connection)
    return wrapped


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
async def client(
    counting: Counting, publisher: MemoryPublisher, issuer: Path
) -> AsyncIterator[httpx.AsyncClient]:
    _, jwks = ensure_issuer(issuer)
    app = create_app(
        Settings(
            jwt_issuer=DEV_ISSUER,
            jwt_jwks=str(jwks),
            resident_audience="contactmoment-mijn",
            insecure_cookies=True,
            searches_per_minute=1000,
        ),
        publisher=publisher,
        pseudonym_key=PSEUDONYM_KEY,
        sealer=memory_sealer(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def kcc(issuer: Path) -> dict[str, str]:
    token = staff_token(issuer, "k.klant", ["kcc"])
    return {"Authorization": f"Bearer {token}", "X-Purpose": "terugbelverzoek"}


def call(n: int, caller: str, bsn: str | None, subject: str) -> list[Envelope]:
    payload = {
        "call_id": f"call-{n}-{subject}",
        "direction": "inbound",
        "caller": caller,
        "started_at": (T0 + timedelta(minutes=n)).isoformat(),
        "queue": "KCC",
        "subject": subject,
        "outcome": "answered",
    }
    if bsn:
        payload["bsn"] = bsn
    return map_phone_call(PhoneCall.model_validate(payload), P).events


def digid_form(n: int, bsn: str, subject: str) -> list[Envelope]:
    form = {
        "submission_id": f"form-{n}-{subject}",
        "form": "Vraag",
        "submitted_at": (T0 + timedelta(minutes=n)).isoformat(),
        "auth": {"method": "digid", "bsn": bsn},
        "subject": subject,
        "request_type": "question",
    }
    return map_web_submission(WebSubmission.model_validate(form), P).events


async def project(conn: asyncpg.Connection, events: list[Envelope]) -> None:
    """Write the events and the customer.linked the worker sends for them, in batches."""
    states: dict[str, customer_view.State] = {}
    out = list(events)
    for event in events:
        states[event.subject], linked = customer_view.apply(states.get(event.subject), event)
        out += linked
    for start in range(0, len(out), 2_000):
        async with conn.transaction():  # as the projector writes: one transaction a batch
            await write_plan(conn, plan_batch(out[start : start + 2_000]))


def bsn_key(bsn: str) -> str:
    return key_of(P.identifier(IdentifierKind.BSN, bsn).hash)


async def search(
    client: httpx.AsyncClient, counting: Counting, issuer: Path, phone: str
) -> tuple[dict[str, Any], int]:
    before = len(counting.statements)
    response = await client.post("/v1/customers/search", json={"phone": phone}, headers=kcc(issuer))
    assert response.status_code == 200, response.text
    return response.json(), len(counting.statements) - before


async def test_a_number_thousands_share_is_one_page_in_a_bounded_number_of_queries(
    conn: asyncpg.Connection,
    client: httpx.AsyncClient,
    counting: Counting,
    publisher: MemoryPublisher,
    issuer: Path,
) -> None:
    sharers = [new_resident() for _ in range(SHARERS)]
    alone = new_resident()
    events = [e for n, r in enumerate(sharers) for e in call(n, SHARED_PHONE, r.bsn, f"s{n}")]
    events += call(SHARERS + 10, alone.phone, alone.bsn, "alone")
    await project(conn, events)

    one, one_statements = await search(client, counting, issuer, alone.phone)
    assert [i["customer_key"] for i in one["items"]] == [bsn_key(alone.bsn)]
    assert one["more"] is False
    assert not any(i["shared"] for i in one["items"][0]["identifiers"])
    one_records = len(publisher.records)
    assert one_records == 1

    many, many_statements = await search(client, counting, issuer, SHARED_PHONE)
    assert one_statements <= SEARCH_STATEMENTS_MAX, counting.statements
    assert many_statements <= SEARCH_STATEMENTS_MAX, counting.statements[-many_statements:]
    assert many_statements <= one_statements  # no more than a search that finds one

    # The 20 with the most recent contact, newest first, and a word that there are more.
    newest = [bsn_key(r.bsn) for r in reversed(sharers[-20:])]
    assert [i["customer_key"] for i in many["items"]] == newest
    assert many["more"] is True
    assert "verfijn uw zoekopdracht" in many["detail"]
    # Exactly the customers returned are in the access log, in one call.
    recorded = [decode(r.value).subject for r in publisher.records[one_records:]]
    assert sorted(recorded) == sorted(newest)
    # The shared number is marked as such on every summary that shows it.
    for item in many["items"]:
        phones = [i for i in item["identifiers"] if i["kind"] == "phone"]
        assert phones and all(i["shared"] for i in phones), item["identifiers"]
        assert item["linked_keys"] == []  # shared: linked to none of them


async def test_the_export_streams_every_row_once_page_by_page(
    conn: asyncpg.Connection,
    client: httpx.AsyncClient,
    counting: Counting,
    publisher: MemoryPublisher,
    issuer: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resident_routes, "EXPORT_PAGE", 7)
    me = new_resident()
    events = [e for n in range(30) for e in call(n, me.phone, me.bsn, f"c{n}")]
    events += [e for n in range(9) for e in digid_form(100 + n, me.bsn, f"f{n}")]
    await project(conn, events)
    group = await customers.cluster(conn, bsn_key(me.bsn))
    assert group is not None
    whole = (await customers.timeline(conn, group, None, None))["items"]
    assert len(whole) > 3 * 7

    # Ten staff reads: ten access records, projected as the projector would.
    for _ in range(10):
        read = await client.get(f"/v1/customers/{group.root}", headers=kcc(issuer))
        assert read.status_code == 200, read.text
    await project(conn, [decode(r.value) for r in publisher.records])

    before = len(counting.statements)
    token = resident_token(issuer, me.bsn)
    response = await client.get("/v1/me/export", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment")
    document = response.json()
    assert document["format"] == "contactmoment-inzage/v1"
    assert [i["event_id"] for i in document["timeline"]] == [i["event_id"] for i in whole]
    assert len(document["requests"]) == 9
    assert len({r["request_id"] for r in document["requests"]}) == 9
    views = document["access_log"]
    assert len(views) == 10  # two pages of 7, each record once
    assert views == sorted(views, key=lambda v: v["occurred_at"], reverse=True)
    assert all("staff_subject" not in v for v in views)  # no staff member's name
    # Read in pages of 7: one statement per page of the timeline, never one for all of it.
    timeline_reads = [
        s for s in counting.statements[before:] if s.startswith(resident.TIMELINE_FIRST[:40])
    ]
    assert len(timeline_reads) == -(-len(whole) // 7)
    assert all("LIMIT" in s for s in timeline_reads)


async def test_the_resident_page_shows_a_page_and_an_older_link_with_only_a_cursor(
    conn: asyncpg.Connection,
    client: httpx.AsyncClient,
    counting: Counting,
    issuer: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resident_ui, "CONTACT_ROWS", 5)
    me = new_resident()
    await project(conn, [e for n in range(8) for e in call(n, me.phone, me.bsn, f"c{n}")])
    token, cookie = await login_form(client, "/ui/mijn/login")
    signed_in = await client.post(
        "/ui/mijn/login",
        data={"token": resident_token(issuer, me.bsn), "csrf": token},
        headers={"Origin": "http://test", **cookie},
    )
    assert signed_in.status_code == 303, signed_in.text

    first = await client.get("/ui/mijn")
    assert first.status_code == 200, first.text
    assert "Oudere contacten" in first.text
    link = first.text.split("Oudere contacten")[0].rsplit('href="', 1)[1].split('"', 1)[0]
    address = urlsplit(link.replace("&amp;", "&"))
    assert address.path == "/ui/mijn"
    query = parse_qs(address.query)
    assert list(query) == ["contacten"]  # a cursor, nothing else
    cursor = query["contacten"][0]
    for secret in (me.bsn, me.phone, me.bsn[-4:], bsn_key(me.bsn)):
        assert secret not in link

    second = await client.get("/ui/mijn", params={"contacten": cursor})
    assert second.status_code == 200, second.text
    assert "Oudere contacten" not in second.text  # 8 contacts: 5, then the last 3
    assert contact_rows(first.text) == 5
    assert contact_rows(second.text) == 3

    bad = await client.get("/ui/mijn", params={"contacten": "not-a-cursor"})
    assert bad.status_code == 422, bad.text


def contact_rows(page: str) -> int:
    """The rows of the contacts table on a resident page."""
    table = page.split('id="contacten"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return table.count("</tr>")


async def test_a_department_finds_its_customers_among_many_more_recent_sharers(
    conn: asyncpg.Connection, client: httpx.AsyncClient, issuer: Path
) -> None:
    """The page is filled from the customers the role may see: the three oldest of 60
    sharers have a callback for the department, the 57 newer ones none."""
    sharers = [new_resident() for _ in range(60)]
    events: list[Envelope] = []
    for n, r in enumerate(sharers):
        if n < 3:
            payload = {
                "call_id": f"call-{n}-zorg",
                "direction": "inbound",
                "caller": SHARED_PHONE,
                "started_at": (T0 + timedelta(minutes=n)).isoformat(),
                "queue": "Zorg",
                "subject": "wmo",
                "outcome": "callback-requested",
                "callback": {"phone": SHARED_PHONE},
                "bsn": r.bsn,
            }
            events += map_phone_call(PhoneCall.model_validate(payload), P).events
        else:
            events += call(n, SHARED_PHONE, r.bsn, f"s{n}")
    await project(conn, events)
    token = staff_token(issuer, "z.medewerker", ["department"], department="Zorg")
    response = await client.post(
        "/v1/customers/search",
        json={"phone": SHARED_PHONE},
        headers={"Authorization": f"Bearer {token}", "X-Purpose": "terugbelverzoek"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(i["customer_key"] for i in body["items"]) == sorted(
        bsn_key(r.bsn) for r in sharers[:3]
    )
    assert body["more"] is False
