"""Driving the staff pages in Chromium: sign in, search, open a customer; and posting a
page's form outside the browser (to test what a browser would not send)."""

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page

from harness.processes import RunningApi

SCREENSHOTS = Path(__file__).parent / "screenshots"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')
COOKIE = "contactmoment_token"  # the test API runs with insecure cookies (plain http)


async def sign_in(page: Page, api: RunningApi, token: str | None = None) -> None:
    """Open /ui/ and sign in through the login form; ends on the search page."""
    await page.goto(f"{api.base_url}/ui/")
    assert "/ui/login" in page.url
    await page.get_by_label("Toegangscode (API-token)").fill(token or api.token)
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_url(f"{api.base_url}/ui/")


async def search(page: Page, purpose: str = "klantcontact", **fields: str) -> None:
    """Fill the search form (labels as the page has them) and press Zoeken."""
    labels = {"bsn": "BSN", "kvk": "KvK-nummer", "email": "E-mailadres", "phone": "Telefoonnummer"}
    for name, value in fields.items():
        await page.get_by_label(labels[name], exact=True).fill(value)
    await page.get_by_label("Doel", exact=True).fill(purpose)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Zoeken").click()


async def open_customer(page: Page, api: RunningApi, key: str, purpose: str = "klantcontact"):  # type: ignore[no-untyped-def]
    """Open a customer's page by its purpose form (GET asks, the form posts)."""
    await page.goto(f"{api.base_url}/ui/customers/{key}")
    await page.get_by_label("Doel").fill(purpose)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Klantbeeld openen").click()
    assert page.url == f"{api.base_url}/ui/customers/{key}"


def request_box(page: Page, subject: str):  # type: ignore[no-untyped-def]
    """The article of the request whose heading names `subject`."""
    return page.locator("article.request").filter(
        has=page.get_by_role("heading", level=3, name=re.compile(re.escape(subject)))
    )


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / name
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def client_for(api: RunningApi, token: str | None = None) -> httpx.AsyncClient:
    """A plain HTTP client signed in to the pages, posting as from the pages' origin."""
    return httpx.AsyncClient(
        base_url=api.base_url,
        headers={"Origin": api.base_url, "Cookie": f"{COOKIE}={token or api.token}"},
        timeout=30,
    )


def forms(html: str) -> list[dict[str, Any]]:
    """Every post form of a page: its action and hidden fields."""
    found = []
    for match in re.finditer(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S):
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match[2]))
        found.append({"action": match[1], "fields": fields})
    return found


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page ("" when there is none)."""
    found = CSRF.search(html)
    return found.group(1) if found else ""
