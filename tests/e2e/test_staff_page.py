"""The staff page in a real headless Chromium (Debian's), driven by Playwright."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from harness.processes import RunningApi
from tests.e2e.people import new_resident
from tests.e2e.test_unified_view import eventually, ingest_four_contacts

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
# Flags for a machine without network beyond loopback (see docs of this machine kind).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make test-tools`"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def test_customer_page_shows_the_unified_timeline(
    client: httpx.AsyncClient, api: RunningApi, browser: Browser
) -> None:
    r = new_resident()
    answers = await ingest_four_contacts(client, r)
    key = answers[0]["customer_key"]
    await eventually(
        lambda: client.get(f"/v1/customers/{key}"),
        lambda resp: resp.status_code == 200 and resp.json()["contact_count"] == 4,
    )

    page = await browser.new_page()
    visited: list[str] = []  # every URL the page requested or navigated to
    page.on("request", lambda request: visited.append(request.url))
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    await page.goto(f"{api.base_url}/ui/customers/{key}")
    assert "/ui/login" in page.url  # not signed in: the login form first
    await page.get_by_label("Toegangscode (API-token)").fill(api.token)
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_url(f"**/ui/customers/{key}")
    # No customer data before the member of staff says why (the view is logged with it).
    assert await page.get_by_role("heading", level=1).inner_text() == (
        "Waarom bekijkt u dit klantbeeld?"
    )
    assert r.bsn[-4:] not in await page.content()
    await page.get_by_label("Doel").fill("klantcontact")
    async with page.expect_navigation():
        await page.get_by_label("Doel").press("Enter")  # the keyboard submits the form
    # The purpose was posted: it is in no URL, so not in the history either.
    assert page.url == f"{api.base_url}/ui/customers/{key}"
    cdp = await page.context.new_cdp_session(page)
    history = [e["url"] for e in (await cdp.send("Page.getNavigationHistory"))["entries"]]
    assert f"{api.base_url}/ui/customers/{key}" in history
    for url in history + visited:
        assert "purpose" not in url and "klantcontact" not in url, url

    assert await page.locator("html").get_attribute("lang") == "nl"
    assert await page.get_by_role("heading", level=1).inner_text() == "Klantbeeld"
    who = page.locator("section[aria-labelledby=wie]")
    assert "*****" + r.bsn[-4:] in await who.inner_text()
    timeline = page.get_by_role("table", name="Alle contacten en gebeurtenissen, nieuwste eerst")
    rows = timeline.locator("tbody tr")
    contact_rows = [t for t in await rows.all_inner_texts() if "\tContact\t" in t]
    channels = [t.split("\t")[1] for t in contact_rows]
    assert channels == ["E-mail", "Website", "Balie", "Telefoon"]
    open_requests = page.locator("section[aria-labelledby=open] article.request")
    assert await open_requests.count() == 2
    assert "Vraag" in await page.locator("section[aria-labelledby=open]").inner_text()

    html = await page.content()
    assert r.bsn not in html  # masked, never in plain text
    headers = await page.locator("th").all()
    assert all([await h.get_attribute("scope") == "col" for h in headers])

    # The page view is in the access log, with the registered purpose.
    log = await eventually(
        lambda: client.get("/v1/access-log", params={"customer_key": key}),
        lambda resp: any(
            i["name"] == "klantbeeld (medewerkerspagina)" for i in resp.json()["items"]
        ),
    )
    viewed = [i for i in log.json()["items"] if i["name"] == "klantbeeld (medewerkerspagina)"]
    assert [i["purpose"] for i in viewed] == ["Beantwoorden van vragen en verzoeken van inwoners"]
    assert viewed[0]["processing_activity"].endswith("/klantcontact")

    # An address that carries a purpose (an old bookmark) is refused, pointing to the form.
    refused = await page.goto(f"{api.base_url}/ui/customers/{key}?purpose=klantcontact")
    assert refused is not None and refused.status == 400
    assert r.bsn[-4:] not in await page.content()
    assert "formulier" in await page.get_by_role("alert").inner_text()
    await page.get_by_label("Doel").fill("klantcontact")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Klantbeeld openen").click()
    assert page.url == f"{api.base_url}/ui/customers/{key}"
    assert await page.get_by_role("heading", level=1).inner_text() == "Klantbeeld"

    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / "staff-customer-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


async def test_wrong_token_is_refused(api: RunningApi, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(f"{api.base_url}/ui/login")
    await page.get_by_label("Toegangscode (API-token)").fill("not-the-token")
    await page.get_by_role("button", name="Inloggen").click()
    assert await page.get_by_role("alert").inner_text() == "Deze toegangscode klopt niet."
    response = await page.goto(f"{api.base_url}/ui/customers/k-{'0' * 32}")
    assert response is not None and "/ui/login" in page.url
