"""The staff worklist, regie and KPI pages on PostgreSQL, through the API in-process.

A fresh read-model schema is filled with SQL rows (requests in every state, breach and
escalation signals, contacts); the app runs in-process (memory publisher) with its pages'
connection pointed at that schema, signed in with the development issuer's tokens of each
role. What the pages show is read from their HTML.
"""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from domain.clock.norms import load as load_norms
from schemas.envelope import decode
from services.api import ui_kpis, ui_lists
from services.api.app import create_app
from services.dev.tokens import DEV_ISSUER, ensure_issuer, staff_token
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.readmodel import kpi_store
from services.readmodel.migrate import migrate
from services.readmodel.projection import Plan
from services.settings import Settings

NOW = datetime.now(UTC)
DEPT = "Vergunningen"
OTHER = "Burgerzaken"
BREACHED = "nl.contactmoment.deadline.breached.v1"
ESCALATED = "nl.contactmoment.deadline.escalated.v1"
CONTACT = "nl.contactmoment.contact.recorded.v1"


def key(n: int) -> str:
    return f"k-{n:032x}"


@pytest.fixture
async def conn(settings: Settings, unique: str) -> AsyncIterator[asyncpg.Connection]:
    name = f"lists_{unique}"
    migrate(settings.database_url, name)
    connection = await asyncpg.connect(settings.database_url, server_settings={"search_path": name})
    try:
        yield connection
    finally:
        await connection.execute(f"DROP SCHEMA {name} CASCADE")
        await connection.close()


async def add_request(
    conn: asyncpg.Connection,
    n: int,
    *,
    department: str = DEPT,
    request_type: str = "question",
    status: str = "open",
    due: timedelta = timedelta(days=1),
    opened: timedelta = timedelta(days=-2),
    answered: timedelta | None = None,
) -> str:
    request_id = f"req-{n:05d}"
    answered_at = NOW + answered if answered is not None else None
    await conn.execute(
        "INSERT INTO requests (request_id, customer_key, request_type, subject, channel,"
        " department, opened_at, status, answered_at, closed_at, due_at, updated_at)"
        " VALUES ($1, $2, $3, $4, 'phone', $5, $6, $7, $8, $9, $10, now())",
        request_id,
        key(n),
        request_type,
        f"onderwerp-{n}",
        department,
        NOW + opened,
        status,
        answered_at,
        answered_at if status != "open" else None,
        NOW + due,
    )
    return request_id


async def add_signal(conn: asyncpg.Connection, request_id: str, n: int, event_type: str) -> None:
    await conn.execute(
        "INSERT INTO signals (event_id, request_id, customer_key, event_type, occurred_at, data)"
        " VALUES ($1, $2, $3, $4, now(), '{}')",
        uuid.uuid4(),
        request_id,
        key(n),
        event_type,
    )


async def add_contact(conn: asyncpg.Connection, n: int, ago: timedelta, subject: str) -> None:
    await conn.execute(
        "INSERT INTO timeline (event_id, customer_key, occurred_at, event_type, channel,"
        " direction, subject, outcome, data) VALUES ($1, $2, $3, $4, 'phone', 'inbound', $5,"
        " 'callback-requested', '{}')",
        uuid.uuid4(),
        key(n),
        NOW - ago,
        CONTACT,
        subject,
    )


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def issuer(tmp_path: Path) -> Path:
    ensure_issuer(tmp_path)
    return tmp_path


@pytest.fixture
async def client(
    conn: asyncpg.Connection,
    publisher: MemoryPublisher,
    issuer: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def connection(request: object) -> AsyncIterator[Any]:
        yield conn

    for module in (ui_lists, ui_kpis):
        monkeypatch.setattr(module, "connection", connection)
    _, jwks = ensure_issuer(issuer)
    app = create_app(
        Settings(
            jwt_issuer=DEV_ISSUER,
            jwt_jwks=str(jwks),
            resident_audience="contactmoment-mijn",
            insecure_cookies=True,
        ),
        publisher=publisher,
        pseudonym_key="lists-integration-key-0123456789",
        sealer=memory_sealer(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def signed_in(issuer: Path, roles: list[str], department: str | None = None) -> dict[str, str]:
    token = staff_token(issuer, f"m-{'-'.join(roles)}", roles, department)
    return {"Cookie": f"contactmoment_token={token}"}


def rows(html: str) -> list[str]:
    """The text of each body row of the page's (first) table, without what is hidden from
    screen readers (the warning signs beside the words)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    body = re.sub(r'<span aria-hidden="true">[^<]*</span>', "", body)
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", "<tr" + r)).strip()
        for r in body.split("<tr")[1:]
    ]


def access_records(publisher: MemoryPublisher) -> list[dict[str, Any]]:
    return [decode(r.value).data.model_dump() for r in publisher.records]


async def test_the_worklist_pages_in_due_order_and_marks_overdue_rows(
    conn: asyncpg.Connection, client: httpx.AsyncClient, publisher: MemoryPublisher, issuer: Path
) -> None:
    late = await add_request(conn, 0, due=timedelta(hours=-3))
    for n in range(1, 60):
        await add_request(conn, n, due=timedelta(hours=n))
    await add_request(conn, 99, status="answered", answered=timedelta(hours=-1))
    kcc = signed_in(issuer, ["kcc"])

    first = await client.get("/ui/werkvoorraad", headers=kcc)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    assert re.search(r"app;dur=\d+\.\d", first.headers["server-timing"])
    listed = rows(first.text)
    assert len(listed) == ui_lists.PAGE_SIZE
    assert listed[0].startswith("Te laat") and "onderwerp-0 " in listed[0] + " "
    assert all(r.startswith("Op tijd") for r in listed[1:])
    assert [int(re.search(r"onderwerp-(\d+)", r).group(1)) for r in listed] == list(range(50))  # type: ignore[union-attr]
    assert '<tr class="overdue">' in first.text and "⚠" in first.text
    assert 'href="/ui/werkvoorraad?status=open&amp;pagina=2"' in first.text
    assert "Vorige pagina" not in first.text

    second = await client.get("/ui/werkvoorraad?status=open&pagina=2", headers=kcc)
    assert len(rows(second.text)) == 10  # 60 open; the answered one is not listed
    assert "Volgende pagina" not in second.text and "pagina=1" in second.text

    # Each customer listed is in the access log, under the worklist's processing activity.
    records = access_records(publisher)
    assert len(records) == 60
    assert {r["processing_activity"] for r in records} == {
        "https://register.bergenopzoom.nl/verwerkingsactiviteiten/klantcontact"
    }
    assert {r["name"] for r in records} == {"werkvoorraad (medewerkerspagina)"}

    closed = await client.get("/ui/werkvoorraad?status=closed", headers=kcc)
    assert [r.split(" ")[0] for r in rows(closed.text)] == ["Op"]  # answered, never late
    assert "onderwerp-99" in closed.text
    overdue = await client.get("/ui/werkvoorraad?status=overdue", headers=kcc)
    assert len(rows(overdue.text)) == 1 and "onderwerp-0" in overdue.text
    assert late


async def test_filters_by_department_and_type_and_names_a_bad_value(
    conn: asyncpg.Connection, client: httpx.AsyncClient, issuer: Path
) -> None:
    await add_request(conn, 1, request_type="callback")
    await add_request(conn, 2, department=OTHER)
    await add_request(conn, 3, request_type="complaint")
    kcc = signed_in(issuer, ["kcc"])
    everyone = await client.get("/ui/werkvoorraad", headers=kcc)
    assert len(rows(everyone.text)) == 3
    other = await client.get(f"/ui/werkvoorraad?afdeling={OTHER}", headers=kcc)
    assert [("onderwerp-2" in r) for r in rows(other.text)] == [True]
    callbacks = await client.get("/ui/werkvoorraad?soort=callback", headers=kcc)
    assert len(rows(callbacks.text)) == 1 and "Terugbelverzoek" in callbacks.text
    bad = await client.get("/ui/werkvoorraad?status=later", headers=kcc)
    assert bad.status_code == 400
    assert re.search(r'role="alert"[^>]*>Status: kies uit open, overdue, closed', bad.text)


async def test_the_department_role_sees_its_own_department(
    conn: asyncpg.Connection, client: httpx.AsyncClient, issuer: Path
) -> None:
    await add_request(conn, 1)
    await add_request(conn, 2, department=OTHER)
    dept = signed_in(issuer, ["department"], DEPT)
    own = await client.get("/ui/werkvoorraad", headers=dept)
    assert own.status_code == 200
    assert [("onderwerp-1" in r) for r in rows(own.text)] == [True]
    assert f'value="{DEPT}"' in own.text  # the default filter is shown, not hidden
    refused = await client.get(f"/ui/werkvoorraad?afdeling={OTHER}", headers=dept)
    assert refused.status_code == 403
    assert "alleen de verzoeken van uw eigen afdeling (Vergunningen)" in refused.text
    assert "onderwerp-2" not in refused.text


async def test_the_regie_page_shows_breached_and_escalated_work_with_contacts(
    conn: asyncpg.Connection, client: httpx.AsyncClient, publisher: MemoryPublisher, issuer: Path
) -> None:
    breached = await add_request(conn, 1, request_type="callback", due=timedelta(hours=-5))
    await add_signal(conn, breached, 1, BREACHED)
    escalated = await add_request(conn, 2, due=timedelta(days=-3, hours=-2), department=OTHER)
    await add_signal(conn, escalated, 2, BREACHED)
    await add_signal(conn, escalated, 2, ESCALATED)
    await add_request(conn, 3)  # in time: not the regieteam's
    for i, subject in enumerate(["eerste", "tweede", "derde", "vierde"]):
        await add_contact(conn, 1, timedelta(days=10 - i), subject)

    regie = signed_in(issuer, ["regieteam"])
    page = await client.get("/ui/regie", headers=regie)
    assert page.status_code == 200, page.text
    listed = rows(page.text)
    assert len(listed) == 2
    assert listed[0].startswith("3 dagen, 2 uur") and "Geëscaleerd" in listed[0]
    assert listed[1].startswith("5 uur") and "Termijn verstreken" in listed[1]
    assert "Geëscaleerd" not in listed[1]
    # The three most recent contacts, newest first; the oldest is not shown.
    assert re.search(r"vierde.*derde.*tweede", listed[1]) and "eerste" not in listed[1]
    assert "Geen contacten" in listed[0]
    records = access_records(publisher)
    assert sorted(r["role"] for r in records) == ["regieteam", "regieteam"]
    assert {r["processing_activity"] for r in records} == {
        "https://register.bergenopzoom.nl/verwerkingsactiviteiten/regie"
    }

    # The regieteam reads the overdue list only; the department role its own department's.
    assert (await client.get("/ui/werkvoorraad", headers=regie)).status_code == 403
    assert (await client.get("/ui/werkvoorraad?status=overdue", headers=regie)).status_code == 200
    dept = await client.get("/ui/regie", headers=signed_in(issuer, ["department"], DEPT))
    assert [("onderwerp-1" in r) for r in rows(dept.text)] == [True]


async def test_pages_need_a_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/ui/werkvoorraad", "/ui/regie", "/ui/kpis"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/ui/login?next={path}"


async def test_the_kpi_page_draws_each_kpi_with_its_figures(
    conn: asyncpg.Connection, client: httpx.AsyncClient, issuer: Path
) -> None:
    await add_request(
        conn,
        1,
        request_type="callback",
        status="answered",
        opened=timedelta(hours=-3),
        due=timedelta(hours=-1),
        answered=timedelta(hours=-2),
    )
    await add_request(
        conn,
        2,
        request_type="callback",
        status="answered",
        opened=timedelta(hours=-4),
        due=timedelta(hours=-3),
        answered=timedelta(hours=-2),
    )
    # the page reads the KPI aggregates, which the projector keeps beside the rows it writes
    catalogue = load_norms(Settings().service_norms)
    await kpi_store.update(conn, catalogue, Plan(), ["req-00001", "req-00002"])
    page = await client.get("/ui/kpis", headers=signed_in(issuer, ["kcc"]))
    assert page.status_code == 200, page.text
    assert re.search(r"kpi;dur=\d", page.headers["server-timing"])
    html = page.text
    assert html.count("<h1>") == 1
    assert html.count('role="img"') == html.count("per week, in cijfers</caption>") == 10
    callbacks = re.search(r'<tr id="kpi-terugbellen">(.*?)</tr>', html, re.S)
    assert callbacks is not None
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", callbacks.group(1), re.S)
    assert cells[1:] == ["Terugbelverzoeken op tijd", "50.0%", "1", "2"]
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )

    bad = await client.get("/ui/kpis?van=gisteren", headers=signed_in(issuer, ["kcc"]))
    assert bad.status_code == 400 and "Van: een datum als" in bad.text
    auditor = await client.get("/ui/kpis", headers=signed_in(issuer, ["auditor"]))
    assert auditor.status_code == 403
