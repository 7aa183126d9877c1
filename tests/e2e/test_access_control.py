"""Staff access control and the access log, through the real API, projector and worker.

The role matrix drives every endpoint with every role (and a resident, and no token) and
checks the status each gets; the access-log tests check that every read that returned
personal data left exactly one record with its purpose, and that refused reads left none.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from harness.processes import RunningApi
from services.dev.tokens import resident_token, staff_token
from services.settings import load_settings
from tests.e2e.people import Resident, new_resident
from tests.e2e.staff_ui import csrf_of
from tests.e2e.test_unified_view import eventually

PURPOSE = "klantcontact"  # a registered processing activity
PURPOSE_NAME = "Beantwoorden van vragen en verzoeken van inwoners"


@dataclass
class World:
    """Two customers: A with an answered request of department `dept` (never overdue),
    B with a callback that has passed its 4 s norm (overdue: regieteam work)."""

    tag: str
    dept: str
    a: Resident
    b: Resident
    a_key: str
    b_key: str
    a_request: str
    b_request: str
    tokens: dict[str, str]


async def _ingest(client: httpx.AsyncClient, channel: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"/v1/ingest/{channel}", json=body)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.fixture(scope="module")
async def world(api: RunningApi, projector: Any, worker: Any) -> AsyncIterator[World]:
    tag = uuid.uuid4().hex[:8]
    dept = f"Vergunningen-{tag}"
    a, b = new_resident(), new_resident()
    now = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {api.token}", "X-Purpose": "e2e-test"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30) as client:
        form = await _ingest(
            client,
            "web",
            {
                "submission_id": f"form-{tag}",
                "form": dept,
                "submitted_at": (now - timedelta(seconds=2)).isoformat(),
                "auth": {"method": "digid", "bsn": a.bsn},
                "contact": {"email": a.email},
                "subject": "dakkapel",
                "message": "Mag ik een dakkapel plaatsen?",
                "request_type": "question",
            },
        )
        call = await _ingest(
            client,
            "phone",
            {
                "call_id": f"call-{tag}",
                "direction": "inbound",
                "caller": b.phone,
                "started_at": (now - timedelta(minutes=1)).isoformat(),
                "queue": f"KCC-{tag}",
                "agent": "medewerker-01",
                "bsn": b.bsn,
                "subject": "parkeervergunning",
                "outcome": "callback-requested",
                "callback": {"phone": b.phone, "before": (now + timedelta(hours=1)).isoformat()},
            },
        )
        a_key, b_key = form["customer_key"], call["customer_key"]
        a_request, b_request = [
            (
                await eventually(
                    lambda d=department: client.get("/v1/requests", params={"department": d}),
                    lambda r: len(r.json()["items"]) == 1,
                )
            ).json()["items"][0]["request_id"]
            for department in (dept, f"KCC-{tag}")
        ]
        answered = await client.post(
            f"/v1/requests/{a_request}/events",
            json={"type": "answered", "actor": {"kind": "employee", "id": "m-1"}},
        )
        assert answered.status_code == 202, answered.text
        await eventually(  # A answered in time, B past its norm: the scopes the rules read
            lambda: client.get(
                "/v1/requests", params={"status": "overdue", "department": f"KCC-{tag}"}
            ),
            lambda r: b_request in [i["request_id"] for i in r.json()["items"]],
            timeout=30,
        )
        await eventually(
            lambda: client.get(f"/v1/requests/{a_request}"),
            lambda r: r.json()["status"] == "answered",
        )
    local = load_settings().local_dir
    tokens = {
        "kcc": staff_token(local, f"kcc-{tag}", ["kcc"]),
        "department": staff_token(local, f"dept-{tag}", ["department"], dept),
        "other-department": staff_token(local, f"other-{tag}", ["department"], f"Anders-{tag}"),
        "regieteam": staff_token(local, f"regie-{tag}", ["regieteam"]),
        "auditor": staff_token(local, f"audit-{tag}", ["auditor"]),
        "channel": staff_token(local, f"channel-{tag}", ["channel"]),
        "resident": resident_token(local, a.bsn),
    }
    yield World(tag, dept, a, b, a_key, b_key, a_request, b_request, tokens)


CALLERS = (
    "kcc",
    "department",
    "other-department",
    "regieteam",
    "auditor",
    "channel",
    "resident",
    "none",
)
Call = Callable[[World], tuple[str, str, dict[str, Any]]]

# endpoint → (request, expected status per caller in CALLERS order; "none" is always 401)
MATRIX: dict[str, tuple[Call, tuple[int, ...]]] = {
    "search A": (
        lambda w: ("POST", "/v1/customers/search", {"json": {"bsn": w.a.bsn}}),
        (200, 200, 200, 200, 403, 403, 403, 401),
    ),
    "customer A": (
        lambda w: ("GET", f"/v1/customers/{w.a_key}", {}),
        (200, 200, 403, 403, 403, 403, 403, 401),
    ),
    "timeline A": (
        lambda w: ("GET", f"/v1/customers/{w.a_key}/timeline", {}),
        (200, 200, 403, 403, 403, 403, 403, 401),
    ),
    "customer B (overdue)": (
        lambda w: ("GET", f"/v1/customers/{w.b_key}", {}),
        (200, 403, 403, 200, 403, 403, 403, 401),
    ),
    "worklist open": (
        lambda w: ("GET", "/v1/requests", {"params": {"status": "open"}}),
        (200, 200, 200, 403, 403, 403, 403, 401),
    ),
    "worklist overdue": (
        lambda w: ("GET", "/v1/requests", {"params": {"status": "overdue"}}),
        (200, 200, 200, 200, 403, 403, 403, 401),
    ),
    "worklist of A's department": (
        lambda w: ("GET", "/v1/requests", {"params": {"status": "closed", "department": w.dept}}),
        (200, 200, 403, 403, 403, 403, 403, 401),
    ),
    "request A": (
        lambda w: ("GET", f"/v1/requests/{w.a_request}", {}),
        (200, 200, 403, 403, 403, 403, 403, 401),
    ),
    "request B (overdue)": (
        lambda w: ("GET", f"/v1/requests/{w.b_request}", {}),
        (200, 403, 403, 200, 403, 403, 403, 401),
    ),
    "act on request A": (
        lambda w: (
            "POST",
            f"/v1/requests/{w.a_request}/events",
            {"json": {"type": "resolved", "actor": {"kind": "employee", "id": "m-2"}}},
        ),
        (202, 202, 403, 403, 403, 403, 403, 401),
    ),
    "kpis": (
        lambda w: ("GET", "/v1/kpis", {}),
        (200, 200, 200, 200, 403, 403, 403, 401),
    ),
    "access log": (
        lambda w: ("GET", "/v1/access-log", {"params": {"customer_key": w.a_key}}),
        (403, 403, 403, 403, 200, 403, 403, 401),
    ),
    "ingest": (
        lambda w: (
            "POST",
            "/v1/ingest/counter",
            {
                "json": {
                    "visit_id": f"visit-{w.tag}",
                    "location": "Stadskantoor",
                    "checked_in_at": "2026-11-30T11:00:00+01:00",
                    "product": "rijbewijs",
                    "bsn": w.a.bsn,
                    "outcome": "served",
                }
            },
        ),
        (403, 403, 403, 403, 403, 202, 403, 401),
    ),
    "resident's own view": (
        lambda w: ("GET", "/v1/me", {}),
        (403, 403, 403, 403, 403, 403, 200, 401),
    ),
    "staff page of A": (
        lambda w: ("POST", f"/ui/customers/{w.a_key}", {"data": {"purpose": PURPOSE}}),
        (200, 200, 403, 403, 403, 403, 303, 303),
    ),
}


async def call(api: RunningApi, world: World, caller: str, endpoint: str) -> httpx.Response:
    build, _ = MATRIX[endpoint]
    method, path, kwargs = build(world)
    headers = {"X-Purpose": PURPOSE}
    token = world.tokens.get(caller)
    if path.startswith("/ui/"):
        headers["Origin"] = api.base_url  # a form posted from the page itself
    if token and path.startswith("/ui/"):
        headers["Cookie"] = f"contactmoment_token={token}"
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
        if token and path.startswith("/ui/") and method == "POST":
            # as a browser would: with the CSRF token of the form the page showed
            form = await client.get(path, headers=headers)
            kwargs = {**kwargs, "data": {**kwargs["data"], "csrf": csrf_of(form.text)}}
        return await client.request(method, path, headers=headers, **kwargs)


@pytest.mark.parametrize("endpoint", list(MATRIX))
async def test_role_matrix(api: RunningApi, world: World, endpoint: str) -> None:
    _, expected = MATRIX[endpoint]
    got = {caller: (await call(api, world, caller, endpoint)).status_code for caller in CALLERS}
    assert got == dict(zip(CALLERS, expected, strict=True))


async def test_scopes_narrow_what_a_role_sees(api: RunningApi, world: World) -> None:
    """Allowed is not all: a department sees its own requests, search finds only customers
    the role covers."""
    found = {
        caller: [
            i["customer_key"] for i in (await call(api, world, caller, "search A")).json()["items"]
        ]
        for caller in ("kcc", "department", "other-department", "regieteam")
    }
    assert found == {
        "kcc": [world.a_key],
        "department": [world.a_key],
        "other-department": [],
        "regieteam": [],
    }
    own = await call(api, world, "department", "worklist overdue")
    assert {i["department"] for i in own.json()["items"]} <= {world.dept}
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
        regie = await client.get(
            "/v1/requests",
            params={"status": "overdue", "department": f"KCC-{world.tag}"},
            headers={"Authorization": f"Bearer {world.tokens['regieteam']}", "X-Purpose": PURPOSE},
        )
    assert [i["request_id"] for i in regie.json()["items"]] == [world.b_request]


async def _log(api: RunningApi, world: World, key: str) -> list[dict[str, Any]]:
    auditor = {"Authorization": f"Bearer {world.tokens['auditor']}"}
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
        response = await client.get(
            "/v1/access-log", params={"customer_key": key, "limit": 5000}, headers=auditor
        )
    assert response.status_code == 200, response.text
    return [i for i in response.json()["items"] if i["staff_subject"].endswith(world.tag)]


def tally(log: list[dict[str, Any]], tag: str) -> dict[str, Counter[str]]:
    return {
        who: Counter(i["name"] for i in log if i["staff_subject"] == f"{who}-{tag}")
        for who in ("kcc", "dept", "other", "regie")
    }


async def test_every_read_leaves_one_access_record_with_its_purpose(
    api: RunningApi, world: World
) -> None:
    before = tally(await _log(api, world, world.a_key), world.tag)
    reads = ["search A", "customer A", "timeline A", "request A", "staff page of A"]
    for endpoint in reads:
        for caller in ("kcc", "department", "other-department", "regieteam"):
            await call(api, world, caller, endpoint)
    # a read without a purpose is refused before anything is read or logged
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
        bare = await client.get(
            f"/v1/customers/{world.a_key}",
            headers={"Authorization": f"Bearer {world.tokens['kcc']}"},
        )
    assert bare.status_code == 400
    assert "X-Purpose" in bare.json()["detail"]

    def grown(log: list[dict[str, Any]]) -> bool:
        now = tally(log, world.tag)
        return all(now[w].total() >= before[w].total() + len(reads) for w in ("kcc", "dept"))

    await eventually(lambda: _log(api, world, world.a_key), grown, timeout=20)
    await asyncio.sleep(1)  # anything extra would be projected by now
    log = await _log(api, world, world.a_key)
    after = tally(log, world.tag)
    one_each = Counter(
        {
            "klant zoeken": 1,
            "klantbeeld raadplegen": 1,
            "tijdlijn raadplegen": 1,
            "verzoek raadplegen": 1,
            "klantbeeld (medewerkerspagina)": 1,
        }
    )
    assert {w: after[w] - before[w] for w in after} == {
        "kcc": one_each,
        "dept": one_each,
        "other": Counter(),
        "regie": Counter(),
    }
    for item in log:
        assert item["purpose"] == PURPOSE_NAME
        assert item["processing_activity"].endswith("/klantcontact")
        assert len(item["trace_id"]) == 32 and len(item["span_id"]) == 16
    roles = {(i["staff_subject"].split("-")[0], i["role"], i["department"]) for i in log}
    assert roles == {("kcc", "kcc", None), ("dept", "department", world.dept)}


async def test_the_resident_sees_who_looked_without_names(api: RunningApi, world: World) -> None:
    for caller in ("kcc", "department"):
        assert (await call(api, world, caller, "customer A")).status_code == 200
    headers = {"Authorization": f"Bearer {world.tokens['resident']}"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30) as client:
        seen = await eventually(
            lambda: client.get("/v1/me/access-log"),
            lambda r: {"kcc", "department"} <= {i["role"] for i in r.json()["items"]},
        )
    items = seen.json()["items"]
    assert {i["role"] for i in items} <= {"kcc", "department"}
    # the test set-up read with the development token and a free-text purpose
    assert {i["purpose"] for i in items} == {PURPOSE_NAME, "e2e-test"}
    assert world.dept in {i["department"] for i in items}
    assert all("staff_subject" not in i for i in items)
    for staff_id in (f"kcc-{world.tag}", f"dept-{world.tag}", "ontwikkeltoken"):
        assert staff_id not in str(items)  # no staff member's id, anywhere
