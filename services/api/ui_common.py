"""What every staff page (/ui) shares: the templates and their Dutch labels, rendering, who
is signed in, reading a posted form, and the answers to an expired session and to a refused
or failed call.

The pages live in small modules (ui.py: login and the router; ui_search.py,
ui_customer.py, ui_actions.py, ui_contact.py); none of them holds a rule of its own: the
checks, access records and events are those of the API (services/api/staff_routes.py) and
the domain (domain/clock/steps.py).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.api import csrf
from services.api.auth import Staff, signed_in
from services.api.body import read_limited
from services.api.browser import signed_in_token

COOKIE = csrf.SIGN_IN_COOKIE  # `__Host-contactmoment_token` unless cookies are insecure
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NO_STORE = {"Cache-Control": "no-store"}  # a page of personal data is not kept in a cache
FORM_BYTES = 16_384  # a purpose of 500 characters, percent-encoded, and a cursor
FOREIGN_FORM = "Dit formulier komt niet van deze site en is niet gebruikt. Er is niets opgeslagen."

CHANNELS = {"phone": "Telefoon", "counter": "Balie", "web": "Website", "email": "E-mail"}
DIRECTIONS = {"inbound": "van klant", "outbound": "naar klant"}
KINDS = {"bsn": "BSN", "kvk": "KvK-nummer", "email": "E-mail", "phone": "Telefoon"}
TYPES = {
    "contact.recorded": "Contact",
    "request.opened": "Verzoek geopend",
    "request.acknowledged": "Ontvangst bevestigd",
    "request.interim-update": "Tussenbericht",
    "request.answered": "Beantwoord",
    "request.resolved": "Opgelost",
    "request.reopened": "Heropend",
    "request.suspended": "Opgeschort",
    "request.resumed": "Hervat",
    "request.extended": "Verlengd",
    "request.withdrawn": "Ingetrokken",
    "customer.linked": "Gegevens gekoppeld",
    "document.issued": "Document uitgereikt",
    "feedback.given": "Feedback",
}
REQUEST_TYPES = {
    "question": "Vraag",
    "callback": "Terugbelverzoek",
    "complaint": "Klacht",
    "application": "Aanvraag",
    "report": "Melding",
}
OUTCOMES = {
    "answered": "beantwoord",
    "callback-requested": "terugbelverzoek",
    "forwarded": "doorverbonden",
    "abandoned": "opgehangen",
    "served": "geholpen",
    "no-show": "niet verschenen",
    "referred": "doorverwezen",
    "submitted": "ingediend",
    "received": "ontvangen",
    "sent": "verzonden",
    "question": "vraag",
    "callback": "terugbelverzoek",
    "complaint": "klacht",
    "application": "aanvraag",
    "report": "melding",
}
DOCUMENTS = {"passport": "paspoort", "id-card": "identiteitskaart", "driving-licence": "rijbewijs"}
STATUSES = {
    "open": "Open",
    "suspended": "Opgeschort",
    "answered": "Beantwoord",
    "resolved": "Opgelost",
    "withdrawn": "Ingetrokken",
}


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
templates.filters["when"] = _when
templates.globals["csrf_field"] = csrf.field
templates.globals.update(
    OUTCOMES=OUTCOMES,
    DOCUMENTS=DOCUMENTS,
    CHANNELS=CHANNELS,
    DIRECTIONS=DIRECTIONS,
    KINDS=KINDS,
    TYPES=TYPES,
    REQUEST_TYPES=REQUEST_TYPES,
    STATUSES=STATUSES,
)


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status)


async def signed_in_staff(request: Request) -> Staff | None:
    """The member of staff behind the page cookie, or None (no, an expired or a foreign
    token)."""
    token = signed_in_token(request, COOKIE)
    who = await signed_in(request, token) if token else None
    return who if isinstance(who, Staff) else None


def to_login(back: str) -> RedirectResponse:
    """An expired (or no) session: the login form, which sends the user back to `back`
    (a path on this site without personal data: a customer key at most)."""
    return RedirectResponse(f"/ui/login?next={quote(back)}", status_code=303)


async def read_form(request: Request, limit: int = FORM_BYTES) -> dict[str, list[str]]:
    """A posted urlencoded form (413 past `limit` bytes)."""
    return parse_qs((await read_limited(request, limit)).decode(errors="replace"))


def one(form: dict[str, list[str]], name: str) -> str:
    """A form field's first value, trimmed ("" when absent)."""
    return form.get(name, [""])[0].strip()


STEPS = {
    "acknowledged": "Ontvangst bevestigen",
    "interim-update": "Tussenbericht",
    "answered": "Beantwoord",
    "resolved": "Opgelost",
    "suspended": "Opschorten",
    "resumed": "Hervatten",
    "extended": "Verlengen",
    "withdrawn": "Intrekken",
    "reopened": "Heropenen",
}
"""The button of each staff step (domain/clock/steps.py says which a status allows)."""
DONE = {
    "acknowledged": "De ontvangst is bevestigd.",
    "interim-update": "Het tussenbericht is vastgelegd.",
    "answered": "Het verzoek is beantwoord.",
    "resolved": "Het verzoek is opgelost.",
    "suspended": "Het verzoek is opgeschort: de termijn staat stil.",
    "resumed": "Het verzoek is hervat: de termijn loopt weer.",
    "extended": "De termijn is verlengd.",
    "withdrawn": "Het verzoek is ingetrokken.",
    "reopened": "Het verzoek is heropend: er loopt een nieuwe termijn.",
}
EXTENSIONS = {
    "P1D": "1 dag",
    "P3D": "3 dagen",
    "P1W": "1 week",
    "P2W": "2 weken",
    "P4W": "4 weken",
    "P6W": "6 weken",
}
"""The terms Verlengen offers (ISO 8601, calendar time, as request.extended carries)."""
templates.globals.update(STEPS=STEPS, EXTENSIONS=EXTENSIONS)


def server_timing(response: Response, started: float) -> Response:
    """The page's server time (handler start to rendered page) as a Server-Timing header,
    readable in the browser's tools and by benchmarks."""
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response
