"""Find a customer on the staff start page, in Chromium: by BSN, results with masked
identifiers, the customer opened with the search's purpose (no second prompt), every
customer shown in the access log, nothing personal in a URL; the messages for an invalid
BSN and for nothing found; a form without its CSRF token refused; an expired session sent to
the login and back."""

import httpx
from playwright.async_api import Browser, Page

from harness.processes import RunningApi
from services.dev.tokens import staff_token
from services.settings import load_settings
from tests.e2e.people import new_resident
from tests.e2e.staff_ui import COOKIE, client_for, forms, screenshot, search, sign_in
from tests.e2e.test_staff_page import browser  # noqa: F401 - the fixture
from tests.e2e.test_unified_view import eventually, ingest_four_contacts


async def test_search_by_bsn_opens_the_customer_with_the_purpose_of_the_search(
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
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    await sign_in(page, api)
    assert await page.get_by_role("heading", level=1).inner_text() == "Klant zoeken"
    await search(page, bsn=r.bsn, purpose="klantcontact")
    table = page.get_by_role("table", name="Gevonden klanten, het laatste contact eerst")
    rows = await table.locator("tbody tr").all_inner_texts()
    assert len(rows) == 1 and "*****" + r.bsn[-4:] in rows[0]
    assert "\t2\t" in rows[0]  # two open requests
    # In the results only masked; typed, it stays in the form fields (a POST page, no-store).
    html = (await page.content()).replace(f'value="{r.bsn}"', "")
    assert r.bsn not in html
    await screenshot(page, "staff-search-results.png")

    async with page.expect_navigation():
        await page.get_by_role("button", name="Klant 1 openen").click()
    assert page.url == f"{api.base_url}/ui/customers/{key}"  # no second prompt
    assert await page.get_by_role("heading", level=1).inner_text() == "Klantbeeld"
    cdp = await page.context.new_cdp_session(page)
    history = [e["url"] for e in (await cdp.send("Page.getNavigationHistory"))["entries"]]
    for url in history + visited:
        assert r.bsn not in url and "purpose" not in url and "klantcontact" not in url, url

    log = await eventually(
        lambda: client.get("/v1/access-log", params={"customer_key": key}),
        lambda resp: (
            {"klant zoeken", "klantbeeld (medewerkerspagina)"}
            <= {i["name"] for i in resp.json()["items"]}
        ),
    )
    for item in log.json()["items"]:
        if item["name"] in ("klant zoeken", "klantbeeld (medewerkerspagina)"):
            assert item["purpose"] == "Beantwoorden van vragen en verzoeken van inwoners"


async def test_invalid_bsn_and_nothing_found_say_so(api: RunningApi, browser: Browser) -> None:  # noqa: F811
    page = await browser.new_page()
    await sign_in(page, api)
    await search(page, bsn="123456789")
    alert = await page.get_by_role("alert").inner_text()
    assert "BSN is niet geldig" in alert and "elfproef" in alert
    await page.get_by_label("BSN", exact=True).fill("")
    await search(page, email=f"niemand.{new_resident().tag}@example.nl")
    assert "Geen klant gevonden" in await page.get_by_role("status").inner_text()
    await page.get_by_label("E-mailadres", exact=True).fill("")
    await page.get_by_label("Doel", exact=True).fill("klantcontact")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Zoeken").click()  # nothing typed
    assert "Vul minstens één" in await page.get_by_role("alert").inner_text()


async def test_a_search_without_or_with_a_wrong_csrf_token_is_refused(api: RunningApi) -> None:
    async with client_for(api) as pages:
        start = await pages.get("/ui/")
        [search_form] = [f for f in forms(start.text) if f["action"] == "/ui/zoeken"]
        token = search_form["fields"]["csrf"]
        body = {"bsn": new_resident().bsn, "purpose": "klantcontact"}
        for sent in ({}, {"csrf": "0" * 64}, {"csrf": token[:-1] + "x"}):
            refused = await pages.post("/ui/zoeken", data=body | sent)
            assert refused.status_code == 403
            assert "formulier is verlopen" in refused.text
        ok = await pages.post("/ui/zoeken", data=body | {"csrf": token})
        assert ok.status_code == 200 and "Geen klant gevonden" in ok.text


async def test_an_expired_session_goes_to_the_login_and_back(
    api: RunningApi,
    browser: Browser,  # noqa: F811
) -> None:
    page = await browser.new_page()
    await sign_in(page, api)
    # The token in the cookie runs out (a JWT's exp in the past).
    expired = staff_token(load_settings().local_dir, "medewerker-verlopen", ["kcc"], minutes=-1)
    await page.context.add_cookies(
        [{"name": COOKIE, "value": expired, "url": api.base_url, "httpOnly": True}]
    )
    await search(page, bsn=new_resident().bsn)
    assert "/ui/login" in page.url and "next=/ui/" in page.url
    await page.get_by_label("Toegangscode (API-token)").fill(api.token)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Inloggen").click()
    assert page.url == f"{api.base_url}/ui/"
    assert await page.get_by_role("heading", level=1).inner_text() == "Klant zoeken"


async def _tab_to(page: Page, check: str, limit: int = 20) -> None:
    """Press Tab until the focused element satisfies the JS predicate `check(e)`; each stop
    must show a visible focus outline."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        style = await page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth, document.activeElement.outerHTML"
            ".slice(0, 120)]; }"
        )
        assert style[0] != "none" and style[1] != "0px", style
        if await page.evaluate(f"() => ({check})(document.activeElement)"):
            return
    raise AssertionError(f"no element {check} within {limit} tabs")


async def test_the_keyboard_alone_signs_in_searches_and_opens_the_customer(
    client: httpx.AsyncClient,
    api: RunningApi,
    browser: Browser,  # noqa: F811
) -> None:
    r = new_resident()
    key = (await ingest_four_contacts(client, r))[0]["customer_key"]
    await eventually(
        lambda: client.post("/v1/customers/search", json={"bsn": r.bsn}),
        lambda resp: len(resp.json()["items"]) == 1,
    )
    page = await browser.new_page()
    await page.goto(f"{api.base_url}/ui/")
    await _tab_to(page, "e => e.id === 'token'")
    await page.keyboard.type(api.token)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await _tab_to(page, "e => e.id === 's-bsn'")
    await page.keyboard.type(r.bsn)
    await _tab_to(page, "e => e.id === 's-doel'")
    await page.keyboard.type("klantcontact")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await _tab_to(page, "e => e.textContent.startsWith('Klant 1 openen')")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == f"{api.base_url}/ui/customers/{key}"
    assert await page.locator("h1").count() == 1
    await _tab_to(page, "e => e.textContent === 'Contact registreren'", limit=80)
