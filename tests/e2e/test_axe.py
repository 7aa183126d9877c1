"""Every staff and resident page in real Chromium: axe-core finds no serious or critical
violation, there is one h1, and the keyboard alone reaches every control with a visible
focus ring. A screenshot of each page goes to tests/e2e/screenshots/.

axe-core comes from npm at the version of tests/e2e/axe/package-lock.json (installed into
.local/axe by `make test-tools`) and is injected into each page as it is; the pages
themselves load nothing from outside.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page

from harness.processes import RunningApi
from services.dev.tokens import resident_token
from services.settings import load_settings
from tests.e2e.people import Resident, new_resident
from tests.e2e.staff_ui import search, sign_in
from tests.e2e.test_staff_page import SCREENSHOTS, browser
from tests.e2e.test_unified_view import eventually, ingest_four_contacts

__all__ = ["browser"]

AXE = Path(__file__).resolve().parents[2] / ".local" / "axe" / "node_modules" / "axe-core"
BLOCKING = ("serious", "critical")
TIMINGS = SCREENSHOTS / "server-timing.json"  # for the docs; no test judges a time
FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),"
    " select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"
)


@dataclass
class World:
    resident: Resident
    key: str


@pytest.fixture(scope="module")
async def world(api: RunningApi, projector: Any, worker: Any) -> AsyncIterator[World]:
    """A customer with four contacts and a callback past its (fast) norm: rows on the
    worklist and on the regie page."""
    r = new_resident()
    headers = {"Authorization": f"Bearer {api.token}", "X-Purpose": "e2e-test"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=30) as client:
        key = (await ingest_four_contacts(client, r))[0]["customer_key"]
        now = datetime.now(UTC)
        call = await client.post(
            "/v1/ingest/phone",
            json={
                "call_id": f"axe-call-{r.tag}",
                "direction": "inbound",
                "caller": r.phone,
                "started_at": (now - timedelta(seconds=5)).isoformat(),
                "queue": f"KCC-axe-{r.tag}",
                "bsn": r.bsn,
                "subject": "parkeervergunning",
                "outcome": "callback-requested",
                "callback": {"phone": r.phone, "before": (now + timedelta(hours=1)).isoformat()},
            },
        )
        assert call.status_code == 202, call.text
        await eventually(
            lambda: client.get(
                "/v1/requests", params={"status": "overdue", "department": f"KCC-axe-{r.tag}"}
            ),
            lambda resp: len(resp.json()["items"]) == 1,
            timeout=30,
        )
    yield World(r, key)


async def open_customer(page: Page, api: RunningApi, key: str) -> None:
    await page.goto(f"{api.base_url}/ui/customers/{key}")
    await page.get_by_label("Doel").fill("klantcontact")
    async with page.expect_navigation():
        await page.get_by_label("Doel").press("Enter")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    await page.add_script_tag(path=str(AXE / "axe.min.js"))
    result = await page.evaluate("async () => await axe.run(document)")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


async def keyboard_walk(page: Page) -> tuple[int, list[str], list[str]]:
    """Tab through the page from the top: (controls on the page, those Tab never reached,
    those that had focus without a visible ring)."""
    await page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    await page.locator("body").focus()
    selector = json.dumps(FOCUSABLE)
    controls: list[str] = await page.evaluate(
        f"""() => [...document.querySelectorAll({selector})]
            .filter(e => e.getClientRects().length || e.classList.contains('skip'))
            .map((e, i) => (e.dataset.kb = String(i), e.outerHTML.slice(0, 80)))"""
    )
    reached: set[str] = set()
    unringed: list[str] = []
    # A date field takes a Tab per part (day, month, year): room for that, and the walk
    # stops once every control had focus.
    for _ in range(3 * len(controls) + 5):
        if len(reached) == len(controls):
            break
        await page.keyboard.press("Tab")
        seen = await page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e || !e.dataset.kb) return null;
                const s = getComputedStyle(e);
                const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                    || s.boxShadow !== 'none';
                return [e.dataset.kb, ring, e.outerHTML.slice(0, 80)];
            }"""
        )
        if seen is None:
            continue
        index, ring, html = seen
        reached.add(index)
        if not ring:
            unringed.append(html)
    missed = [html for i, html in enumerate(controls) if str(i) not in reached]
    return len(controls), missed, unringed


Visit = Callable[[Page, RunningApi, World], Awaitable[None]]


async def _goto(page: Page, url: str) -> None:
    await page.goto(url)


PAGES: dict[str, Visit] = {
    "staff-login": lambda p, api, w: _goto(p, f"{api.base_url}/ui/login"),
    "staff-home": lambda p, api, w: _goto(p, f"{api.base_url}/ui/"),
    "staff-search-results": lambda p, api, w: search(p, bsn=w.resident.bsn),
    "staff-purpose": lambda p, api, w: _goto(p, f"{api.base_url}/ui/customers/{w.key}"),
    "staff-customer": lambda p, api, w: open_customer(p, api, w.key),
    "staff-werkvoorraad": lambda p, api, w: _goto(p, f"{api.base_url}/ui/werkvoorraad"),
    "staff-werkvoorraad-te-laat": lambda p, api, w: _goto(
        p, f"{api.base_url}/ui/werkvoorraad?status=overdue"
    ),
    "staff-regie": lambda p, api, w: _goto(p, f"{api.base_url}/ui/regie"),
    "staff-kpis": lambda p, api, w: _goto(p, f"{api.base_url}/ui/kpis"),
}
RESIDENT_PAGES = ("resident-login", "resident-page")
SIGNED_OUT = {"staff-login"}


@pytest.mark.parametrize("name", [*PAGES, *RESIDENT_PAGES])
async def test_page_is_accessible(
    name: str, api: RunningApi, world: World, browser: Browser
) -> None:
    assert (AXE / "axe.min.js").exists(), "axe-core is missing: run `make test-tools`"
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    timings: list[str] = []
    page.on(
        "response",
        lambda r: (
            timings.append(r.headers.get("server-timing", ""))
            if r.request.is_navigation_request()
            else None
        ),
    )
    if name in PAGES:
        if name not in SIGNED_OUT:
            await sign_in(page, api)
        await PAGES[name](page, api, world)
    else:
        await page.goto(f"{api.base_url}/ui/mijn")
        if name == "resident-page":
            await page.get_by_label("Toegangsbewijs van Mijn Gemeente").fill(
                resident_token(load_settings().local_dir, world.resident.bsn)
            )
            async with page.expect_navigation():
                await page.get_by_role("button", name="Inloggen").click()
    assert await page.locator("html").get_attribute("lang") == "nl"
    assert await page.locator("h1").count() == 1, "one h1 per page"

    violations = await axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)

    controls, missed, unringed = await keyboard_walk(page)
    assert controls > 0
    assert missed == [], f"Tab never reaches: {missed}"
    assert unringed == [], f"focus without a visible ring: {unringed}"

    SCREENSHOTS.mkdir(exist_ok=True)
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    shot = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000
    recorded = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    recorded[name] = timings[-1] if timings else ""
    TIMINGS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    await page.close()
