"""Contact registreren, in Chromium: a phone contact with Terugbelverzoek on the customer
page makes contact.recorded and a request.opened of type callback with a due instant, shown
on the page; from the search, a contact for a caller nobody knew yet."""

import httpx
from playwright.async_api import Browser

from harness.processes import RunningApi
from tests.e2e.people import new_resident
from tests.e2e.staff_ui import open_customer, screenshot, search, sign_in
from tests.e2e.test_staff_page import browser  # noqa: F401 - the fixture
from tests.e2e.test_unified_view import eventually, ingest_four_contacts


async def test_a_phone_contact_with_a_callback_opens_a_callback_request_with_a_clock(
    client: httpx.AsyncClient,
    api: RunningApi,
    browser: Browser,  # noqa: F811
) -> None:
    r = new_resident()
    key = (await ingest_four_contacts(client, r))[0]["customer_key"]
    await eventually(
        lambda: client.get(f"/v1/customers/{key}"),
        lambda resp: resp.status_code == 200 and resp.json()["contact_count"] == 4,
    )
    page = await browser.new_page()
    await sign_in(page, api)
    await open_customer(page, api, key)
    form = page.locator("section[aria-labelledby=contact]")
    await form.get_by_label("Kanaal").select_option(label="Telefoon")
    await form.get_by_label("Onderwerp").fill(f"parkeervergunning {r.tag}")
    await form.get_by_label("Samenvatting").fill("Vraagt naar de wachttijd.")
    await form.get_by_label("Uitkomst").select_option(label="Terugbelverzoek")
    await form.get_by_label("Terugbelverzoek maken").check()
    await form.get_by_label("Afdeling die terugbelt").fill("Burgerzaken")
    await form.get_by_label("Terugbelnummer").fill(r.phone)
    await form.get_by_label("Terugbellen vóór (niet verplicht)").fill("2026-12-07T14:00")
    await screenshot(page, "staff-contact-form.png")
    async with page.expect_navigation():
        await form.get_by_role("button", name="Contact registreren").click()
    assert "terugbelverzoek voor Burgerzaken" in await page.get_by_role("status").inner_text()
    assert page.url == f"{api.base_url}/ui/customers/{key}/contact"  # the key, nothing else

    summary = (await client.get(f"/v1/customers/{key}")).json()
    [callback] = [
        q for q in summary["open_requests"] if q["subject"] == f"parkeervergunning {r.tag}"
    ]
    assert callback["request_type"] == "callback" and callback["department"] == "Burgerzaken"
    assert callback["due_at"]  # the request's clock runs
    timeline = (await client.get(f"/v1/customers/{key}/timeline")).json()["items"]
    [contact] = [
        t
        for t in timeline
        if t["type"] == "contact.recorded" and t["subject"] == f"parkeervergunning {r.tag}"
    ]
    assert contact["channel"] == "phone" and contact["outcome"] == "callback-requested"
    assert contact["request_id"] == callback["request_id"]
    assert "Terugbellen op" in (contact["summary"] or "")
    box = page.locator("article.request", has_text=f"parkeervergunning {r.tag}")
    assert "Terugbelverzoek" in await box.inner_text()


async def test_a_contact_from_the_search_for_a_new_caller(
    client: httpx.AsyncClient,
    api: RunningApi,
    browser: Browser,  # noqa: F811
) -> None:
    r = new_resident()
    page = await browser.new_page()
    await sign_in(page, api)
    await search(page, bsn=r.bsn)
    assert "Geen klant gevonden" in await page.get_by_role("status").inner_text()
    form = page.locator("section[aria-labelledby=contact]")
    await form.get_by_label("Onderwerp").fill(f"afval {r.tag}")
    await form.get_by_label("Uitkomst").select_option(label="Vraag beantwoord")
    async with page.expect_navigation():
        await form.get_by_role("button", name="Contact registreren").click()
    assert "geregistreerd" in await page.get_by_role("status").inner_text()
    assert await page.get_by_role("heading", level=1).inner_text() == "Klantbeeld"
    assert "*****" + r.bsn[-4:] in await page.locator("section[aria-labelledby=wie]").inner_text()
    assert r.bsn not in page.url
