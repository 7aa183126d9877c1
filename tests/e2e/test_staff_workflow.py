"""The staff workspace's whole workflow in real Chromium, across three roles:

1. a KCC employee searches by BSN, opens the customer and registers a phone contact with a
   callback request for a department;
2. the callback passes its (fast, 4 s) norm: the regieteam's page shows it breached;
3. an employee of that department finds it on the worklist (their own department by
   default, marked late), opens the customer, answers it, and it leaves the open worklist;
4. the KPI page counts the answered callback.

Each page is photographed into tests/e2e/screenshots/workflow-*.png.
"""

import re
import uuid
from collections.abc import Awaitable, Callable

import httpx
from playwright.async_api import Browser, Page

from harness.processes import RunningApi
from services.dev.tokens import staff_token
from services.settings import load_settings
from tests.e2e.people import new_resident
from tests.e2e.staff_ui import request_box, screenshot, search, sign_in
from tests.e2e.test_staff_page import browser  # noqa: F401 - the fixture
from tests.e2e.test_unified_view import eventually, ingest_four_contacts


async def reload_until(
    page: Page, check: Callable[[], Awaitable[bool]], timeout: float = 30
) -> None:
    """Reload the page until `check` holds (the read model is eventually consistent)."""

    async def fetch() -> bool:
        await page.reload()
        return await check()

    await eventually(fetch, lambda ok: ok, timeout=timeout)


async def callback_row_text(page: Page, subject: str) -> str:
    rows = page.locator("tbody tr", has_text=subject)
    return await rows.first.inner_text() if await rows.count() else ""


async def callbacks_answered(page: Page) -> int:
    """The denominator of 'Terugbelverzoeken op tijd' in the KPI page's overview table."""
    cells = await page.locator("#kpi-terugbellen td").all_inner_texts()
    return int(cells[-1]) if cells[-1].isdigit() else 0


async def test_a_callback_from_the_kcc_to_the_department_and_the_regieteam(
    client: httpx.AsyncClient,
    api: RunningApi,
    worker: object,
    browser: Browser,  # noqa: F811
) -> None:
    r = new_resident()
    tag = uuid.uuid4().hex[:8]
    department = f"Vergunningen-{tag}"
    subject = f"dakkapel {tag}"
    key = (await ingest_four_contacts(client, r))[0]["customer_key"]
    await eventually(
        lambda: client.get(f"/v1/customers/{key}"),
        lambda resp: resp.status_code == 200 and resp.json()["contact_count"] == 4,
    )
    local = load_settings().local_dir
    tokens = {
        "kcc": staff_token(local, f"kcc-{tag}", ["kcc"]),
        "department": staff_token(local, f"dept-{tag}", ["department"], department),
        "regieteam": staff_token(local, f"regie-{tag}", ["regieteam"]),
    }

    # The KPI page before: how many answered callbacks the last four weeks count.
    kpi = await browser.new_page()
    await sign_in(kpi, api, tokens["kcc"])
    await kpi.goto(f"{api.base_url}/ui/kpis")
    answered_before = await callbacks_answered(kpi)

    # 1. KCC: search by BSN, open the customer, register the call with a callback.
    kcc = await browser.new_page()
    visited: list[str] = []
    kcc.on("framenavigated", lambda frame: visited.append(frame.url))
    await sign_in(kcc, api, tokens["kcc"])
    await search(kcc, bsn=r.bsn)
    await screenshot(kcc, "workflow-1-search-results.png")
    async with kcc.expect_navigation():
        await kcc.get_by_role("button", name=re.compile(r"^Klant 1 openen")).click()
    assert await kcc.get_by_role("heading", level=1).inner_text() == "Klantbeeld"
    form = kcc.locator("section[aria-labelledby=contact]")
    await form.get_by_label("Kanaal").select_option(label="Telefoon")
    await form.get_by_label("Onderwerp").fill(subject)
    await form.get_by_label("Uitkomst").select_option(label="Terugbelverzoek")
    await form.get_by_label("Terugbelverzoek maken").check()
    await form.get_by_label("Afdeling die terugbelt").fill(department)
    await form.get_by_label("Terugbelnummer").fill(r.phone)
    async with kcc.expect_navigation():
        await form.get_by_role("button", name="Contact registreren").click()
    assert f"terugbelverzoek voor {department}" in await kcc.get_by_role("status").inner_text()
    await screenshot(kcc, "workflow-2-contact-registered.png")
    assert all(r.bsn not in url for url in visited)  # the BSN was posted, never in a URL

    # 2. The regieteam sees it once it passed its norm (4 s), flagged breached.
    regie = await browser.new_page()
    await sign_in(regie, api, tokens["regieteam"])
    await regie.goto(f"{api.base_url}/ui/regie?afdeling={department}")

    async def breached() -> bool:
        return "Termijn verstreken" in await callback_row_text(regie, subject)

    await reload_until(regie, breached)
    row = await callback_row_text(regie, subject)
    assert "Terugbelverzoek" in row and "Telefoon" in row  # the customer's recent contacts
    await screenshot(regie, "workflow-3-regie-breached.png")

    # 3. The department: its own worklist by default, the callback marked late.
    dept = await browser.new_page()
    await sign_in(dept, api, tokens["department"])
    await (
        dept.get_by_role("navigation", name="Hoofdmenu")
        .get_by_role("link", name="Werkvoorraad")
        .click()
    )
    await dept.wait_for_url(f"{api.base_url}/ui/werkvoorraad")
    assert await dept.get_by_label("Afdeling").input_value() == department
    row = await callback_row_text(dept, subject)
    assert row.split("\t")[0].endswith("Te laat") and department in row
    await screenshot(dept, "workflow-4-werkvoorraad-late.png")
    await dept.locator("tbody tr", has_text=subject).get_by_role("link").click()
    await dept.get_by_label("Doel").fill("terugbellen")
    async with dept.expect_navigation():
        await dept.get_by_role("button", name="Klantbeeld openen").click()
    box = request_box(dept, subject)
    async with dept.expect_navigation():
        await box.get_by_role("button", name="Beantwoord", exact=True).click()
    assert "Gelukt" in await dept.get_by_role("status").inner_text()
    await screenshot(dept, "workflow-5-answered.png")

    await dept.goto(f"{api.base_url}/ui/werkvoorraad")

    async def gone() -> bool:
        return await callback_row_text(dept, subject) == ""

    await reload_until(dept, gone)
    await dept.goto(f"{api.base_url}/ui/werkvoorraad?status=closed")
    assert "Beantwoord" in await callback_row_text(dept, subject)
    # Closed: no longer the regieteam's either.
    await regie.reload()
    assert await callback_row_text(regie, subject) == ""

    # 4. The KPI page counts the answered callback (answered after its due instant).
    async def counted() -> bool:
        return await callbacks_answered(kpi) >= answered_before + 1

    await reload_until(kpi, counted)
    await screenshot(kpi, "workflow-6-kpis.png")
