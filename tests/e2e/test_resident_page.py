"""The resident's own page (/ui/mijn) in a real headless Chromium, and /v1/me's gate.

A resident signs in with the portal's token and sees their contacts, requests and who
looked at their data; never staff notes, a staff member's name, their full BSN or anyone
else's data.
"""

import json
from typing import Any

import httpx
from playwright.async_api import Browser, Route

from harness.processes import RunningApi
from services.dev.tokens import resident_token, staff_token
from services.settings import load_settings
from tests.e2e.people import Resident, new_resident
from tests.e2e.test_staff_page import SCREENSHOTS, browser
from tests.e2e.test_unified_view import eventually, ingest_four_contacts

__all__ = ["browser"]  # the Chromium fixture of the staff page test

KLANTCONTACT = "Beantwoorden van vragen en verzoeken van inwoners"  # its registered name
STATIC_SUBJECT = "ontwikkeltoken"
# What ingest_four_contacts sends as free text (the web form's message, the e-mail body)
# and the call's agent: staff-side content the resident's page must not show.
FREE_TEXTS = ["Wanneer wordt er geleegd?", "Is er al nieuws?", "medewerker-01"]


def other_resident(first: Resident) -> Resident:
    """A second resident whose masked BSN and phone differ from the first one's."""
    while True:
        second = new_resident()
        if second.bsn[-4:] != first.bsn[-4:] and second.phone[-4:] != first.phone[-4:]:
            return second


async def customer_with_four_contacts(client: httpx.AsyncClient, r: Resident) -> dict[str, Any]:
    """The staff summary of `r` once all four contacts are in the read model."""
    key = (await ingest_four_contacts(client, r))[0]["customer_key"]
    found = await eventually(
        lambda: client.get(f"/v1/customers/{key}"),
        lambda resp: resp.status_code == 200 and resp.json()["contact_count"] == 4,
    )
    return dict(found.json())


def masked(customer: dict[str, Any]) -> set[str]:
    return {i["masked"] for i in customer["identifiers"]}


def as_resident(api: RunningApi, r: Resident) -> httpx.AsyncClient:
    token = resident_token(load_settings().local_dir, r.bsn)
    return httpx.AsyncClient(
        base_url=api.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def klantcontact_read(resp: httpx.Response) -> bool:
    return resp.status_code == 200 and any(
        item["purpose"] == KLANTCONTACT for item in resp.json()["items"]
    )


async def test_resident_page_shows_own_data_only(
    client: httpx.AsyncClient, api: RunningApi, browser: Browser
) -> None:
    r = new_resident()
    other = other_resident(r)
    customer = await customer_with_four_contacts(client, r)
    key = customer["customer_key"]
    second = await customer_with_four_contacts(client, other)
    # The e-mail masks alike (i***@example.nl); the BSN and phone masks differ.
    others = masked(second) - masked(customer)
    assert len(others) == 2, (masked(customer), masked(second))
    staff_read = await client.get(f"/v1/customers/{key}", headers={"X-Purpose": "klantcontact"})
    assert staff_read.status_code == 200, staff_read.text
    async with as_resident(api, r) as me:
        await eventually(lambda: me.get("/v1/me/access-log"), klantcontact_read)

    page = await browser.new_page(accept_downloads=True)
    await page.goto(f"{api.base_url}/ui/mijn")
    assert page.url.endswith("/ui/mijn/login")  # not signed in: the login form first
    await page.get_by_label("Toegangsbewijs van Mijn Gemeente").fill(
        resident_token(load_settings().local_dir, r.bsn)
    )
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_url("**/ui/mijn")

    assert await page.locator("html").get_attribute("lang") == "nl"
    about = page.locator("section[aria-labelledby=over-u]")
    assert "*****" + r.bsn[-4:] in await about.inner_text()
    # The e-mail address was only typed into the web form: its mail is not shown (yet).
    assert await about.locator("dt:text-is('Aantal contacten') + dd").inner_text() == "3"

    contacts = page.get_by_role("table", name="Uw contacten met de gemeente, nieuwste eerst")
    rows = await contacts.locator("tbody tr").all_inner_texts()
    assert [row.split("\t")[1] for row in rows] == ["Website", "Balie", "Telefoon"]
    notice = await page.get_by_role("note").inner_text()
    assert "niet al uw contacten" in notice and "e-mailadres of telefoonnummer" in notice

    requests = page.get_by_role("table", name="Uw verzoeken, eerst wat het eerst klaar moet zijn")
    request_rows = await requests.locator("tbody tr").all_inner_texts()
    # The mail's question is the typed address's, not shown: the web form's one is.
    assert len(request_rows) == 1 and all(row.startswith("Vraag\t") for row in request_rows)

    views = page.get_by_role("table", name="Wie uw gegevens heeft bekeken, nieuwste eerst")
    view_rows = await views.locator("tbody tr").all_inner_texts()
    klantcontact_rows = [row for row in view_rows if KLANTCONTACT in row]
    assert klantcontact_rows and "Klantcontactcentrum" in klantcontact_rows[0]

    html = await page.content()
    assert r.bsn not in html  # masked, never in plain text
    assert STATIC_SUBJECT not in html  # who looked: role and purpose, never the person
    for text in FREE_TEXTS:
        assert text not in html, text
    for text in (other.bsn, other.tag, second["customer_key"], *others):
        assert text not in html, text
    headers = await page.locator("th").all()
    assert headers and all([await h.get_attribute("scope") == "col" for h in headers])

    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download al uw gegevens (JSON)").click()
    download = await info.value
    document = json.loads((await download.path()).read_text())
    assert document["format"] == "contactmoment-inzage/v1"
    assert document["about_you"]["customer_key"] == key
    assert len([i for i in document["timeline"] if i["type"] == "contact.recorded"]) == 3
    exported = json.dumps(document, ensure_ascii=False)
    for text in (r.bsn, other.bsn, second["customer_key"], STATIC_SUBJECT, *FREE_TEXTS, *others):
        assert text not in exported, text

    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / "resident-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    await page.get_by_role("link", name="Uitloggen").click()
    await page.wait_for_url("**/ui/mijn/login")
    await page.goto(f"{api.base_url}/ui/mijn")
    assert page.url.endswith("/ui/mijn/login")
    assert r.bsn not in api.log()  # nor in the API's log lines


async def test_the_portal_posts_the_token_from_another_site(
    api: RunningApi, browser: Browser
) -> None:
    """Mijn Gemeente auto-posts the token cross-site; the Strict cookie must still work."""
    token = resident_token(load_settings().local_dir, new_resident().bsn)
    portal = (
        '<!doctype html><html lang="nl"><body onload="document.forms[0].submit()">'
        f'<form method="post" action="{api.base_url}/ui/mijn/login">'
        f'<input type="hidden" name="token" value="{token}"></form></body></html>'
    )

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body=portal)

    page = await browser.new_page()
    await page.route("http://mijn.gemeente.example/**", serve)
    await page.goto("http://mijn.gemeente.example/inzage")
    await page.wait_for_url(f"{api.base_url}/ui/mijn")
    heading = page.get_by_role("heading", level=1)
    assert await heading.inner_text() == "Uw gegevens bij de gemeente"
    contacts = page.get_by_role("table", name="Uw contacten met de gemeente, nieuwste eerst")
    assert await contacts.locator("tbody").inner_text() == "U heeft nog geen contact met ons gehad."


async def test_another_site_cannot_sign_a_resident_in(api: RunningApi, browser: Browser) -> None:
    """Only the configured portal may post a token cross-site: any other site posting a
    (valid) token of its own would sign the visitor in as someone else."""
    token = resident_token(load_settings().local_dir, new_resident().bsn)
    page_html = (
        '<!doctype html><html lang="nl"><body onload="document.forms[0].submit()">'
        f'<form method="post" action="{api.base_url}/ui/mijn/login">'
        f'<input type="hidden" name="token" value="{token}"></form></body></html>'
    )

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body=page_html)

    page = await browser.new_page()
    await page.route("http://elders.example/**", serve)
    await page.goto("http://elders.example/aanval")
    await page.wait_for_url(f"{api.base_url}/ui/mijn/login")
    alert = await page.get_by_role("alert").inner_text()
    assert alert.startswith("Inloggen kan alleen via Mijn Gemeente")
    assert not [c for c in await page.context.cookies() if c["name"] == "contactmoment_mijn"]


async def test_a_staff_token_does_not_open_the_resident_page(
    api: RunningApi, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(f"{api.base_url}/ui/mijn/login")
    await page.get_by_label("Toegangsbewijs van Mijn Gemeente").fill(api.token)
    await page.get_by_role("button", name="Inloggen").click()
    alert = await page.get_by_role("alert").inner_text()
    assert alert.startswith("Dit toegangsbewijs is niet (meer) geldig.")
    response = await page.goto(f"{api.base_url}/ui/mijn")
    assert response is not None and page.url.endswith("/ui/mijn/login")


async def test_me_answers_residents_only_and_only_their_own_data(
    client: httpx.AsyncClient, api: RunningApi
) -> None:
    r = new_resident()
    other = other_resident(r)
    customer = await customer_with_four_contacts(client, r)
    second = await customer_with_four_contacts(client, other)
    others = masked(second) - masked(customer)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as anonymous:
        assert (await anonymous.get("/v1/me")).status_code == 401
        static = {"Authorization": f"Bearer {api.token}"}
        assert (await anonymous.get("/v1/me", headers=static)).status_code == 403
        kcc = staff_token(load_settings().local_dir, "kcc-medewerker", ["kcc"])
        staff = {"Authorization": f"Bearer {kcc}"}
        assert (await anonymous.get("/v1/me", headers=staff)).status_code == 403

    async with as_resident(api, r) as me:
        answer = await me.get("/v1/me")
        assert answer.status_code == 200, answer.text
        mine = answer.json()
        assert mine["customer_key"] == customer["customer_key"]
        assert mine["contact_count"] == 3  # not the mail of the typed (unverified) address
        assert mine["some_contacts_not_shown"] is True
        assert "linked_keys" not in mine
        assert masked(mine) == masked(customer)
        assert {"kind": "bsn", "masked": "*****" + r.bsn[-4:], "verified": True} in mine[
            "identifiers"
        ]
        for path in ("/v1/me", "/v1/me/timeline", "/v1/me/requests", "/v1/me/export"):
            resp = await me.get(path)
            assert resp.status_code == 200, (path, resp.text)
            for text in (r.bsn, other.bsn, second["customer_key"], *others, *FREE_TEXTS):
                assert text not in resp.text, (path, text)
