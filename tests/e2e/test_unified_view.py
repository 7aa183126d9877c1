"""One resident, four channels, one customer: the scenario of the unified-view issue,
through HTTP only (ingest API → Kafka → projector → PostgreSQL → staff API)."""

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.e2e.people import Resident, new_resident


async def eventually(fetch, check, timeout: float = 15.0) -> Any:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s; last value: {value}")
        await asyncio.sleep(0.1)


async def ingest_four_contacts(client: httpx.AsyncClient, r: Resident) -> list[dict[str, Any]]:
    answers = []
    calls = [
        (
            "phone",
            {
                "call_id": f"call-{r.tag}",
                "direction": "inbound",
                "caller": r.phone,
                "started_at": "2026-11-30T09:00:00+01:00",
                "queue": "KCC",
                "agent": "medewerker-01",
                "bsn": r.bsn,
                "subject": "paspoort",
                "outcome": "answered",
            },
        ),
        (
            "counter",
            {
                "visit_id": f"visit-{r.tag}",
                "location": "Stadskantoor",
                "checked_in_at": "2026-11-30T11:00:00+01:00",
                "served_at": "2026-11-30T11:05:00+01:00",
                "product": "paspoort",
                "bsn": r.bsn,
                "outcome": "served",
                "documents_issued": [{"kind": "passport", "valid_until": "2036-11-30"}],
            },
        ),
        (
            "web",
            {
                "submission_id": f"form-{r.tag}",
                "form": "Vraag stellen",
                "submitted_at": "2026-11-30T14:00:00+01:00",
                "auth": {"method": "digid", "bsn": r.bsn},
                "contact": {"email": r.email, "phone": r.phone},
                "subject": "afvalinzameling",
                "message": "Wanneer wordt er geleegd?",
                "request_type": "question",
            },
        ),
    ]
    for channel, body in calls:
        response = await client.post(f"/v1/ingest/{channel}", json=body)
        assert response.status_code == 202, response.text
        answers.append(response.json())
    mail = (
        f"From: Inwoner <{r.email}>\r\nTo: info@bergenopzoom.nl\r\n"
        f"Subject: Nog een vraag\r\nMessage-ID: <{r.tag}@example.nl>\r\n"
        "Date: Mon, 30 Nov 2026 16:00:00 +0100\r\n\r\nIs er al nieuws?\r\n"
    ).encode()
    response = await client.post(
        "/v1/ingest/email", content=mail, headers={"Content-Type": "message/rfc822"}
    )
    assert response.status_code == 202, response.text
    answers.append(response.json())
    return answers


async def test_four_channels_make_one_customer(client: httpx.AsyncClient) -> None:
    r = new_resident()
    started = time.monotonic()
    answers = await ingest_four_contacts(client, r)
    bsn_key = answers[0]["customer_key"]
    assert answers[1]["customer_key"] == answers[2]["customer_key"] == bsn_key
    assert answers[3]["customer_key"] != bsn_key  # the e-mail alone keys on the address

    async def search(**body: str) -> list[dict[str, Any]]:
        response = await client.post("/v1/customers/search", json=body)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    by_bsn = await eventually(
        lambda: search(bsn=r.bsn), lambda items: items and items[0]["contact_count"] == 4
    )
    visible_after = time.monotonic() - started
    assert len(by_bsn) == 1
    customer = by_bsn[0]
    assert customer["customer_key"] == bsn_key
    assert customer["channels"] == {"counter": 1, "email": 1, "phone": 1, "web": 1}
    # The e-mail address was typed into the form: linked, and marked as not verified.
    assert {"customer_key": answers[3]["customer_key"], "verified": False} in customer[
        "linked_keys"
    ]
    kinds = sorted(i["kind"] for i in customer["identifiers"])
    assert kinds == ["bsn", "email", "phone"]
    assert r.bsn not in str(customer)
    assert [q["request_type"] for q in customer["open_requests"]] == ["question", "question"]
    assert visible_after < 10

    for body in ({"email": r.email}, {"phone": r.phone}, {"email": r.email.upper()}):
        found = await search(**body)
        assert [c["customer_key"] for c in found] == [bsn_key], body

    timeline = (await client.get(f"/v1/customers/{bsn_key}/timeline")).json()["items"]
    contacts = [i for i in timeline if i["type"] == "contact.recorded"]
    assert [c["channel"] for c in contacts] == ["email", "web", "counter", "phone"]
    times = [i["occurred_at"] for i in timeline]
    assert times == sorted(times, reverse=True)
    # The e-mail key's own page shows the same unified customer.
    via_email = (await client.get(f"/v1/customers/{answers[3]['customer_key']}")).json()
    assert via_email["customer_key"] == bsn_key


async def test_timeline_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    r = new_resident()
    answers = await ingest_four_contacts(client, r)
    key = answers[0]["customer_key"]
    await eventually(
        lambda: client.get(f"/v1/customers/{key}"),
        lambda resp: resp.status_code == 200 and resp.json()["contact_count"] == 4,
    )
    seen, before = [], None
    while True:
        params = {"limit": 2} | ({"before": before} if before else {})
        page = (await client.get(f"/v1/customers/{key}/timeline", params=params)).json()
        seen += page["items"]
        before = page["next"]
        if not before:
            break
    everything = (await client.get(f"/v1/customers/{key}/timeline", params={"limit": 100})).json()
    assert [i["event_id"] for i in seen] == [i["event_id"] for i in everything["items"]]
    assert len(seen) == len({i["event_id"] for i in seen}) >= 7
    bad = await client.get(f"/v1/customers/{key}/timeline", params={"before": "nonsense!"})
    assert bad.status_code == 422


async def test_request_worklist_and_staff_actions(client: httpx.AsyncClient) -> None:
    r = new_resident()
    call = {
        "call_id": f"cb-{r.tag}",
        "direction": "inbound",
        "caller": r.phone,
        "started_at": datetime.now(UTC).isoformat(),
        "queue": f"Team-{r.tag}",
        "outcome": "callback-requested",
        "callback": {"phone": r.phone},
    }
    response = await client.post("/v1/ingest/phone", json=call)
    assert response.status_code == 202
    worklist = await eventually(
        lambda: client.get("/v1/requests", params={"department": f"Team-{r.tag}"}),
        lambda resp: len(resp.json()["items"]) == 1,
    )
    request = worklist.json()["items"][0]
    assert (request["request_type"], request["status"]) == ("callback", "open")
    rid = request["request_id"]

    actor = {"kind": "employee", "id": "medewerker-02", "department": f"Team-{r.tag}"}
    for action in ({"type": "acknowledged", "actor": actor}, {"type": "answered", "actor": actor}):
        posted = await client.post(
            f"/v1/requests/{rid}/events",
            json=action,
            headers={"Idempotency-Key": f"{action['type']}-1"},
        )
        assert posted.status_code == 202, posted.text
        assert posted.json()["customer_key"] == request["customer_key"]
    detail = await eventually(
        lambda: client.get(f"/v1/requests/{rid}"), lambda resp: resp.json()["status"] == "answered"
    )
    body = detail.json()
    assert [h["type"] for h in body["history"]] == [
        "request.opened",
        "request.acknowledged",
        "request.answered",
    ]
    assert body["acknowledged_at"] and body["answered_at"]
    # The e2e callback norm is 4 s: whether this answer was late depends on the machine.
    # The worker's breach signal must agree with the read model's due and answer times.
    late = datetime.fromisoformat(body["answered_at"]) > datetime.fromisoformat(body["due_at"])
    if late:
        detail = await eventually(
            lambda: client.get(f"/v1/requests/{rid}"), lambda resp: resp.json()["breached"]
        )
    assert detail.json()["breached"] is late
    closed = await client.get(
        "/v1/requests", params={"status": "closed", "department": f"Team-{r.tag}"}
    )
    assert [i["request_id"] for i in closed.json()["items"]] == [rid]

    wrong = await client.post(
        f"/v1/requests/{rid}/events", json={"type": "extended", "actor": actor}
    )
    assert wrong.status_code == 422 and "extension" in wrong.json()["detail"]
    missing = await client.post(
        "/v1/requests/nope/events", json={"type": "answered", "actor": actor}
    )
    assert missing.status_code == 404


async def test_unknown_customer_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/customers/k-" + "0" * 32)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/customers/111222333")).status_code == 404


async def test_a_contact_is_visible_within_2_s_under_simulator_load(
    client: httpx.AsyncClient, api
) -> None:  # type: ignore[no-untyped-def]
    from harness.processes import start_process

    simulator = start_process(
        "simulate",
        ["simulate", "--rate", "25", "--duration", "60", "--quiet"],
        {
            "CONTACTMOMENT_API_PORT": api.base_url.rsplit(":", 1)[1],
            "CONTACTMOMENT_API_TOKEN": api.token,
        },
    )
    try:
        await asyncio.sleep(3)  # the simulator is sending
        delays = []
        for _ in range(5):
            r = new_resident()
            sent = time.monotonic()
            response = await client.post(
                "/v1/ingest/web",
                json={
                    "submission_id": f"load-{r.tag}",
                    "form": "Vraag stellen",
                    "submitted_at": datetime.now(UTC).isoformat(),
                    "auth": {"method": "digid", "bsn": r.bsn},
                    "subject": "afval",
                    "message": "vraag",
                    "request_type": "question",
                },
            )
            assert response.status_code == 202
            key = response.json()["customer_key"]
            await eventually(
                lambda key=key: client.get(f"/v1/customers/{key}"),
                lambda resp: resp.status_code == 200,
                timeout=5,
            )
            delays.append(time.monotonic() - sent)
        assert simulator.process.poll() is None, simulator.log()[-2000:]
    finally:
        simulator.stop()
    assert max(delays) < 2.0, delays
