"""The request clock end to end, on second-scale norms (fast-norms.toml): warnings before
breaches, breaches within a second, escalation, late answers, suspension, notifications —
through HTTP only, with real worker, projector and API processes."""

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from harness.processes import RunningProcess
from services.settings import load_settings
from tests.e2e.conftest import start_worker
from tests.e2e.people import Resident, new_resident

ACTOR = {"kind": "employee", "id": "medewerker-09", "department": "KCC"}


async def open_callback(client: httpx.AsyncClient, r: Resident) -> tuple[str, datetime]:
    opened = datetime.now(UTC)
    response = await client.post(
        "/v1/ingest/phone",
        json={
            "call_id": f"clock-{r.tag}",
            "direction": "inbound",
            "caller": r.phone,
            "started_at": opened.isoformat(),
            "queue": f"KCC-{r.tag}",
            "subject": "Wmo",
            "outcome": "callback-requested",
            "callback": {"phone": r.phone},
        },
    )
    assert response.status_code == 202, response.text
    return response.json()["ids"][0], opened


async def request_id_of(client: httpx.AsyncClient, r: Resident) -> str:
    found = await poll(
        lambda: client.post("/v1/customers/search", json={"phone": r.phone}),
        lambda resp: resp.json()["items"] and resp.json()["items"][0]["open_requests"],
    )
    return str(found.json()["items"][0]["open_requests"][0]["request_id"])


async def poll(fetch, check, timeout: float = 20.0) -> Any:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if check(value):
            return value
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {value.text[:2000]}"
        await asyncio.sleep(0.2)


def signals(detail: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in detail["signals"] if s["type"] == f"deadline.{kind}"]


async def detail(client: httpx.AsyncClient, rid: str) -> dict[str, Any]:
    return dict((await client.get(f"/v1/requests/{rid}")).json())


async def test_breach_is_detected_within_a_second_after_a_warning(
    client: httpx.AsyncClient, worker: RunningProcess
) -> None:
    r = new_resident()
    _, opened = await open_callback(client, r)
    rid = await request_id_of(client, r)
    done = await poll(
        lambda: client.get(f"/v1/requests/{rid}"),
        lambda resp: signals(resp.json(), "escalated") and len(resp.json()["notifications"]) >= 3,
        timeout=20,
    )
    body = done.json()
    [warning] = signals(body, "warning")
    [breach] = signals(body, "breached")
    [escalated] = signals(body, "escalated")
    due = datetime.fromisoformat(breach["due_at"])
    assert abs((due - opened).total_seconds() - 4) < 0.01  # PT4S
    warned = datetime.fromisoformat(warning["detected_at"])
    assert opened + timedelta(seconds=3) <= warned < due  # 75 % of the term, before the breach
    delay = (datetime.fromisoformat(breach["detected_at"]) - due).total_seconds()
    assert 0 <= delay < 1.0
    assert datetime.fromisoformat(escalated["detected_at"]) >= due + timedelta(seconds=2)
    assert body["breached"] is True and body["due_at"] == breach["due_at"]
    kinds = sorted((n["kind"], n["audience"]) for n in body["notifications"])
    assert kinds == [
        ("callback-missed", "customer"),
        ("callback-missed", "staff"),
        ("deadline-breached", "regieteam"),
    ]
    customer_note = next(n for n in body["notifications"] if n["audience"] == "customer")
    assert customer_note["channel"] == "phone" and "Het spijt ons" in customer_note["message"]
    overdue = (
        await client.get("/v1/requests", params={"status": "overdue", "department": f"KCC-{r.tag}"})
    ).json()["items"]
    assert rid in [i["request_id"] for i in overdue]


async def test_answered_in_time_means_no_breach(
    client: httpx.AsyncClient, worker: RunningProcess
) -> None:
    r, control = new_resident(), new_resident()
    await open_callback(client, r)
    await open_callback(client, control)
    rid = await request_id_of(client, r)
    control_id = await request_id_of(client, control)
    answered = await client.post(
        f"/v1/requests/{rid}/events", json={"type": "answered", "actor": ACTOR}
    )
    assert answered.status_code == 202
    # The unanswered twin breaches, so the clock ran for both: silence is not a dead worker.
    await poll(
        lambda: client.get(f"/v1/requests/{control_id}"),
        lambda resp: signals(resp.json(), "breached"),
    )
    await asyncio.sleep(1)
    body = await detail(client, rid)
    assert body["status"] == "answered"
    assert signals(body, "breached") == [] and body["breached"] is False


async def test_answered_late_is_met_late(client: httpx.AsyncClient, worker: RunningProcess) -> None:
    r = new_resident()
    await open_callback(client, r)
    rid = await request_id_of(client, r)
    await poll(
        lambda: client.get(f"/v1/requests/{rid}"), lambda resp: signals(resp.json(), "breached")
    )
    await client.post(f"/v1/requests/{rid}/events", json={"type": "answered", "actor": ACTOR})
    body = (
        await poll(
            lambda: client.get(f"/v1/requests/{rid}"), lambda resp: signals(resp.json(), "met-late")
        )
    ).json()
    assert len(signals(body, "met-late")) == 1 and len(signals(body, "breached")) == 1


async def test_suspension_moves_the_deadline(
    client: httpx.AsyncClient, worker: RunningProcess
) -> None:
    r = new_resident()
    _, opened = await open_callback(client, r)
    rid = await request_id_of(client, r)
    await client.post(f"/v1/requests/{rid}/events", json={"type": "suspended", "actor": ACTOR})
    suspended_at = datetime.now(UTC)
    await asyncio.sleep(3)
    await client.post(f"/v1/requests/{rid}/events", json={"type": "resumed", "actor": ACTOR})
    resumed_at = datetime.now(UTC)
    body = (
        await poll(
            lambda: client.get(f"/v1/requests/{rid}"), lambda resp: signals(resp.json(), "breached")
        )
    ).json()
    due = datetime.fromisoformat(signals(body, "breached")[0]["due_at"])
    used = (suspended_at - opened).total_seconds()
    expected = resumed_at + timedelta(seconds=4 - used)
    assert abs((due - expected).total_seconds()) < 0.5, (due, expected)
    assert due > opened + timedelta(seconds=6)


async def test_each_proactive_notification_kind_is_emitted_once(
    client: httpx.AsyncClient, worker: RunningProcess
) -> None:
    r = new_resident()
    now = datetime.now(UTC)
    # repeat-contact: three inbound contacts on one subject within 14 days.
    for n in range(3):
        response = await client.post(
            "/v1/ingest/phone",
            json={
                "call_id": f"rep-{r.tag}-{n}",
                "direction": "inbound",
                "caller": r.phone,
                "bsn": r.bsn,
                "started_at": (now - timedelta(days=3 - n)).isoformat(),
                "queue": "KCC",
                "subject": "parkeervergunning",
                "outcome": "answered",
            },
        )
        assert response.status_code == 202
    # document-expiring: a passport valid for less than six more weeks.
    await client.post(
        "/v1/ingest/counter",
        json={
            "visit_id": f"doc-{r.tag}",
            "location": "Stadskantoor",
            "checked_in_at": now.isoformat(),
            "product": "paspoort",
            "bsn": r.bsn,
            "outcome": "served",
            "documents_issued": [
                {"kind": "passport", "valid_until": (now + timedelta(days=20)).date().isoformat()}
            ],
        },
    )
    # interim-update-due and feedback-request: a web question, resolved after its interim.
    form = await client.post(
        "/v1/ingest/web",
        json={
            "submission_id": f"q-{r.tag}",
            "form": "Vraag",
            "submitted_at": now.isoformat(),
            "auth": {"method": "digid", "bsn": r.bsn},
            "subject": "afval",
            "message": "?",
            "request_type": "question",
        },
    )
    key = form.json()["customer_key"]
    rid = await poll(
        lambda: client.get("/v1/requests", params={"department": "Vraag"}),
        lambda resp: any(i["customer_key"] == key for i in resp.json()["items"]),
    )
    rid = next(i["request_id"] for i in rid.json()["items"] if i["customer_key"] == key)
    await asyncio.sleep(3.5)  # interim_every PT3S
    await client.post(f"/v1/requests/{rid}/events", json={"type": "resolved", "actor": ACTOR})
    await asyncio.sleep(2)

    conn = await asyncpg.connect(load_settings().database_url)
    try:
        rows = await poll_rows(conn, key)
    finally:
        await conn.close()
    assert sorted(rows) == [
        ("document-expiring", "customer"),
        ("feedback-request", "customer"),
        ("interim-update-due", "staff"),
        ("repeat-contact", "staff"),
    ]


async def poll_rows(conn, key: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while True:
        rows = await conn.fetch(
            "SELECT kind, audience FROM notifications WHERE customer_key = $1", key
        )
        found = [(r["kind"], r["audience"]) for r in rows]
        if len(found) >= 4 or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.3)


async def test_kill_9_between_due_and_emission_gives_exactly_one_breach(
    client: httpx.AsyncClient, worker: RunningProcess, worker_id: str
) -> None:
    r = new_resident()
    await open_callback(client, r)
    rid = await request_id_of(client, r)
    await asyncio.sleep(1.0)
    worker.stop(kill=True)  # before the 4 s term ends: nothing was emitted yet
    await asyncio.sleep(5)  # the due instant passes while no worker runs
    replacement = start_worker(worker_id, tempfile.mkdtemp(prefix="e2e-worker-"))
    worker.process = replacement.process  # the session fixture stops this one at the end
    worker.log_path = replacement.log_path
    body = (
        await poll(
            lambda: client.get(f"/v1/requests/{rid}"),
            lambda resp: signals(resp.json(), "breached"),
            timeout=40,
        )
    ).json()
    await asyncio.sleep(2)
    body = await detail(client, rid)
    assert len(signals(body, "breached")) == 1
    assert len([n for n in body["notifications"] if n["kind"] == "callback-missed"]) == 2
