"""Identity linking through the whole stack (API, worker, projector): one person's history
never shows to another. Two residents calling from one landline; a DigiD form on which
someone types another person's e-mail address."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from harness.processes import RunningApi
from tests.e2e.people import Resident, new_resident
from tests.e2e.test_resident_page import as_resident
from tests.e2e.test_unified_view import eventually


async def call(
    client: httpx.AsyncClient, call_id: str, caller: str, bsn: str | None, subject: str
) -> str:
    body: dict[str, Any] = {
        "call_id": call_id,
        "direction": "inbound",
        "caller": caller,
        "started_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "queue": "KCC",
        "subject": subject,
        "outcome": "answered",
    }
    if bsn:
        body["bsn"] = bsn  # the agent verified who calls
    response = await client.post("/v1/ingest/phone", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["customer_key"])


async def subjects(resp: httpx.Response) -> set[str]:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    items = body["timeline"] if "timeline" in body else body["items"]
    return {i["subject"] for i in items if i.get("subject")}


async def staff_subjects(client: httpx.AsyncClient, key: str) -> set[str]:
    return await subjects(await client.get(f"/v1/customers/{key}/timeline", params={"limit": 500}))


async def erase(key: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "services.cli", "privacy", "erase", "--customer", key, "--yes"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
    assert process.returncode == 0, output
    return output


def landline_of(a: Resident) -> str:
    return "020" + a.phone[-7:]


async def test_two_residents_sharing_a_landline_never_see_each_others_calls(
    client: httpx.AsyncClient, api: RunningApi, worker: Any
) -> None:
    a, b = new_resident(), new_resident()
    landline = landline_of(a)
    own_a, own_b, line = f"a-{a.tag}", f"b-{b.tag}", f"lijn-{a.tag}"
    key_a = await call(client, f"line-a-{a.tag}", landline, a.bsn, own_a)
    key_b = await call(client, f"line-b-{b.tag}", landline, b.bsn, own_b)
    # A call from the landline whose caller nobody verified: keyed by the number itself.
    key_line = await call(client, f"line-x-{a.tag}", landline, None, line)
    assert len({key_a, key_b, key_line}) == 3
    for key, subject in ((key_a, own_a), (key_b, own_b), (key_line, line)):
        await eventually(
            lambda key=key: client.get(f"/v1/customers/{key}/timeline"),
            lambda r, subject=subject: (
                r.status_code == 200 and subject in {i["subject"] for i in r.json()["items"]}
            ),
        )

    # Staff: each resident's view holds their own call only; the landline is linked to none.
    assert await staff_subjects(client, key_a) == {own_a}
    assert await staff_subjects(client, key_b) == {own_b}
    assert await staff_subjects(client, key_line) == {line}
    for key in (key_a, key_b):
        summary = (await client.get(f"/v1/customers/{key}")).json()
        assert key_line not in {link["customer_key"] for link in summary["linked_keys"]}

    # Residents: /v1/me, its timeline and the export show their own call only.
    for resident, mine, theirs in ((a, own_a, own_b), (b, own_b, own_a)):
        async with as_resident(api, resident) as me:
            assert (await me.get("/v1/me")).json()["contact_count"] == 1
            assert await subjects(await me.get("/v1/me/timeline", params={"limit": 500})) == {mine}
            export = await me.get("/v1/me/export")
            assert await subjects(export) == {mine}
            assert theirs not in export.text and line not in export.text

    # Erasing A leaves B's data and the landline's own history (only A's link to it goes;
    # B, now the only one carrying the line, owns it from here on: the linking rule).
    assert f"erased {key_a}" in await erase(key_a)
    assert (await client.get(f"/v1/customers/{key_a}")).status_code == 404
    assert await staff_subjects(client, key_b) == {own_b, line}
    assert line in await staff_subjects(client, key_line)
    async with as_resident(api, b) as me:
        assert own_b in await subjects(await me.get("/v1/me/export"))


async def test_typing_someone_elses_e_mail_on_a_digid_form_shows_nothing_of_theirs(
    client: httpx.AsyncClient, api: RunningApi, worker: Any
) -> None:
    victim, attacker = new_resident(), new_resident()
    secret, bait = f"geheim-{victim.tag}", f"aanvraag-{attacker.tag}"
    mail = (
        f"From: Slachtoffer <{victim.email}>\r\nTo: info@bergenopzoom.nl\r\n"
        f"Subject: {secret}\r\nMessage-ID: <{victim.tag}@example.nl>\r\n\r\n"
        "Mijn schuldhulpvraag.\r\n"
    ).encode()
    sent = await client.post(
        "/v1/ingest/email", content=mail, headers={"Content-Type": "message/rfc822"}
    )
    assert sent.status_code == 202, sent.text
    victim_key = sent.json()["customer_key"]
    form = await client.post(
        "/v1/ingest/web",
        json={
            "submission_id": f"attack-{attacker.tag}",
            "form": "Vraag stellen",
            "submitted_at": datetime.now(UTC).isoformat(),
            "auth": {"method": "digid", "bsn": attacker.bsn},
            "contact": {"email": victim.email},
            "subject": bait,
            "message": "Graag antwoord per mail.",
            "request_type": "question",
        },
    )
    assert form.status_code == 202, form.text
    attacker_key = form.json()["customer_key"]
    summary = await eventually(
        lambda: client.get(f"/v1/customers/{attacker_key}"),
        lambda r: r.status_code == 200 and r.json()["contact_count"] == 2,
    )

    async with as_resident(api, attacker) as me:
        about = (await me.get("/v1/me")).json()
        assert about["contact_count"] == 1 and about["some_contacts_not_shown"] is True
        for path in ("/v1/me", "/v1/me/timeline", "/v1/me/export"):
            resp = await me.get(path)
            assert resp.status_code == 200, resp.text
            assert secret not in resp.text and victim_key not in resp.text, path
        assert await subjects(await me.get("/v1/me/export")) == {bait}
    # Staff see the link, marked as not verified.
    assert {"customer_key": victim_key, "verified": False} in summary.json()["linked_keys"]
