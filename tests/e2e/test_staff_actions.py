"""Steps on a request from the customer page, in Chromium: every button posts through the
API's path and the page shows the new state; a double submit counts once; a step the
request no longer allows (a stale page) or the role does not cover is refused with a
message and nothing is written."""

import asyncio
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from harness.processes import RunningApi
from services.dev.tokens import staff_token
from services.settings import load_settings
from tests.e2e.people import Resident, new_resident
from tests.e2e.staff_ui import (
    client_for,
    csrf_of,
    forms,
    open_customer,
    request_box,
    screenshot,
    sign_in,
)
from tests.e2e.test_staff_page import browser  # noqa: F401 - the fixture
from tests.e2e.test_unified_view import eventually


async def callback_request(client: httpx.AsyncClient, r: Resident) -> tuple[str, str, str]:
    """A phone call that asked for a callback: (customer key, request id, subject)."""
    subject = f"terugbellen {r.tag}"
    answer = await client.post(
        "/v1/ingest/phone",
        json={
            "call_id": f"call-cb-{r.tag}",
            "direction": "inbound",
            "caller": r.phone,
            "started_at": "2026-12-01T09:00:00+01:00",
            "queue": "KCC",
            "bsn": r.bsn,
            "subject": subject,
            "outcome": "callback-requested",
            "callback": {"phone": r.phone},
        },
    )
    assert answer.status_code == 202, answer.text
    key = answer.json()["customer_key"]
    found = await eventually(
        lambda: client.get(f"/v1/customers/{key}"),
        lambda resp: resp.status_code == 200 and len(resp.json()["open_requests"]) == 1,
    )
    return key, found.json()["open_requests"][0]["request_id"], subject


async def history(client: httpx.AsyncClient, request_id: str) -> list[str]:
    detail = await client.get(f"/v1/requests/{request_id}")
    return [h["type"] for h in detail.json()["history"]]


async def take(page: Page, subject: str, button: str, fill: dict[str, str] | None = None) -> str:
    """Press a step's button in the request's box; returns the notice the page shows."""
    box = request_box(page, subject)
    for label, value in (fill or {}).items():
        field = box.get_by_label(label)
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(label=value)
        else:
            await field.fill(value)
    async with page.expect_navigation():
        await box.get_by_role("button", name=button, exact=True).click()
    return await page.get_by_role("status").inner_text()


async def test_each_step_posts_and_the_page_shows_the_new_state(
    client: httpx.AsyncClient,
    api: RunningApi,
    browser: Browser,  # noqa: F811
) -> None:
    key, request_id, subject = await callback_request(client, new_resident())
    page = await browser.new_page()
    await sign_in(page, api)
    await open_customer(page, api, key)
    box = request_box(page, subject)
    assert "Terugbelverzoek" in await box.get_by_role("heading").inner_text()
    text = await box.inner_text()
    assert "nog " in text or "te laat" in text  # the due instant in words
    buttons = await box.get_by_role("button").all_inner_texts()
    assert buttons == [
        "Ontvangst bevestigen",
        "Tussenbericht",
        "Beantwoord",
        "Opgelost",
        "Opschorten",
        "Verlengen",
        "Intrekken",
    ]
    await screenshot(page, "staff-customer-actions.png")

    assert "bevestigd" in await take(page, subject, "Ontvangst bevestigen")
    assert "Ontvangst bevestigen" not in await box.get_by_role("button").all_inner_texts()
    assert "tussenbericht" in await take(
        page, subject, "Tussenbericht", {"Tekst van het tussenbericht": "We zoeken het uit."}
    )
    assert "opgeschort" in await take(page, subject, "Opschorten")
    assert await box.locator("[data-status]").inner_text() == "Opgeschort"
    assert "Hervatten" in await box.get_by_role("button").all_inner_texts()
    assert "hervat" in await take(page, subject, "Hervatten")
    assert "verlengd" in await take(page, subject, "Verlengen", {"Verlengen met": "1 week"})
    assert "beantwoord" in await take(page, subject, "Beantwoord")
    closed = page.locator("section[aria-labelledby=gesloten]")
    assert subject in await closed.inner_text()  # now among the closed ones
    assert "heropend" in await take(
        page, subject, "Heropenen", {"Reden om te heropenen": "Klant belde opnieuw."}
    )
    assert "opgelost" in await take(page, subject, "Opgelost")
    assert "heropend" in await take(
        page, subject, "Heropenen", {"Reden om te heropenen": "Toch niet opgelost."}
    )
    assert "ingetrokken" in await take(page, subject, "Intrekken")
    assert await history(client, request_id) == [
        "request.opened",
        "request.acknowledged",
        "request.interim-update",
        "request.suspended",
        "request.resumed",
        "request.extended",
        "request.answered",
        "request.reopened",
        "request.resolved",
        "request.reopened",
        "request.withdrawn",
    ]
    detail = (await client.get(f"/v1/requests/{request_id}")).json()
    actors = {h["data"]["actor"]["id"] for h in detail["history"][1:]}
    assert len(actors) == 1 and None not in actors  # the signed-in member of staff


async def _page_forms(pages: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    form = await pages.get(f"/ui/customers/{key}")
    shown = await pages.post(
        f"/ui/customers/{key}", data={"purpose": "klantcontact", "csrf": csrf_of(form.text)}
    )
    assert shown.status_code == 200, shown.text
    return forms(shown.text)


async def test_a_double_submit_counts_once(client: httpx.AsyncClient, api: RunningApi) -> None:
    key, request_id, _ = await callback_request(client, new_resident())
    async with client_for(api) as pages:
        [ack] = [
            f for f in await _page_forms(pages, key) if f["fields"].get("step") == "acknowledged"
        ]
        answers = await asyncio.gather(
            *(pages.post(ack["action"], data=ack["fields"]) for _ in range(2))
        )
        assert [a.status_code for a in answers] == [200, 200]
        again = await pages.post(ack["action"], data=ack["fields"])  # a third, after both
        assert again.status_code == 200 and "bevestigd" in again.text
    await asyncio.sleep(1)  # time for a second event to be projected, were there one
    assert (await history(client, request_id)).count("request.acknowledged") == 1


async def test_a_refused_step_says_why_and_writes_nothing(
    client: httpx.AsyncClient,
    api: RunningApi,
    browser: Browser,  # noqa: F811
) -> None:
    key, request_id, subject = await callback_request(client, new_resident())
    page = await browser.new_page()
    await sign_in(page, api)
    await open_customer(page, api, key)
    # Someone else answers the request while this page is open.
    answered = await client.post(f"/v1/requests/{request_id}/events", json={"type": "answered"})
    assert answered.status_code == 202
    await eventually(
        lambda: client.get(f"/v1/requests/{request_id}"),
        lambda resp: resp.json()["status"] == "answered",
    )
    box = request_box(page, subject)
    async with page.expect_navigation():
        await box.get_by_role("button", name="Opschorten").click()
    alert = await page.get_by_role("alert").inner_text()
    assert "Dit kan niet meer" in alert and "beantwoord" in alert and "niets opgeslagen" in alert
    await screenshot(page, "staff-action-refused.png")
    assert "request.suspended" not in await history(client, request_id)

    # A department the request is not of: refused, nothing written.
    other = staff_token(load_settings().local_dir, "medewerker-wmo", ["department"], "Wmo")
    async with client_for(api) as pages:
        [resolve] = [
            f for f in await _page_forms(pages, key) if f["fields"].get("step") == "resolved"
        ]
    async with client_for(api, other) as theirs:
        form = await theirs.get(f"/ui/customers/{key}")
        fields = {**resolve["fields"], "csrf": csrf_of(form.text)}
        refused = await theirs.post(resolve["action"], data=fields)
    assert refused.status_code == 403
    assert "request.resolved" not in await history(client, request_id)
