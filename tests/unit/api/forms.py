"""Posting a /ui form in-process as a browser would: with the CSRF token of the page that
showed it (services/api/csrf.py)."""

import re

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


async def csrf_of(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> str:
    """The CSRF token in the form that GET `path` shows with these headers (cookies)."""
    page = await client.get(path, headers=headers)
    found = CSRF.search(page.text)
    assert found, f"no CSRF field on {path}: {page.status_code} {page.text[:300]}"
    return found.group(1)


async def login_form(
    client: httpx.AsyncClient, path: str = "/ui/login"
) -> tuple[str, dict[str, str]]:
    """A login form's CSRF token and the anonymous cookie it is bound to (sent as a
    header: the client's jar keeps a Secure cookie off plain http)."""
    page = await client.get(path)
    found = CSRF.search(page.text)
    assert found, page.text
    cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items() if "csrf" in name)
    client.cookies.clear()
    return found.group(1), {"Cookie": cookie}
