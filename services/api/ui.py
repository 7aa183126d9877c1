"""The staff page: a customer's unified timeline, server-rendered, in Dutch.

Browsers cannot send a bearer header, so the page takes a staff token (the issuer's JWT, or
the development token where enabled) once through a login form posted from this site
(services/api/browser.py checks its origin) and keeps it in a `__Host-`, Secure, HttpOnly,
SameSite=Strict cookie (never in a URL). Like the API, a customer page needs a
role that covers the customer and a purpose, and each view is recorded in the access log.

The purpose is posted, never sent in a query: it is free text that may name a person, and
a URL stays in the browser's history and in every proxy's log. `GET /ui/customers/{key}`
only asks for it (and refuses `?purpose=`); the page is the answer to the form's POST, which
must come from our own pages (services/api/browser.py), like every other /ui POST.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.api import csrf
from services.api.access import PURPOSE_MAX, record, resolve
from services.api.auth import Staff, signed_in
from services.api.body import read_limited
from services.api.browser import same_origin, set_sign_in, signed_in_token
from services.api.database import connection
from services.api.problems import Problem, kafka_problem
from services.api.staff_routes import customer_access
from services.api.state import services
from services.kafka.errors import KafkaAdapterError
from services.readmodel import customers

router = APIRouter(prefix="/ui", include_in_schema=False)
COOKIE = "contactmoment_token"  # `__Host-contactmoment_token` unless cookies are insecure
FOREIGN = "Inloggen kan alleen met het formulier op deze pagina. Vul uw toegangscode hier in."
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PURPOSE_IN_URL = (
    "Kies het doel in het formulier hieronder. Een doel in de adresregel wordt niet gebruikt: "
    "een adres blijft staan in de browsergeschiedenis en in logbestanden."
)
PURPOSE_FOREIGN = "Het doel kan alleen met het formulier op deze pagina worden gekozen."
PURPOSE_TOO_LONG = f"Het doel is te lang: gebruik ten hoogste {PURPOSE_MAX} tekens."
FORM_BYTES = 16_384  # a purpose of 500 characters, percent-encoded, and a cursor
NO_STORE = {"Cache-Control": "no-store"}  # a page of personal data is not kept in a cache

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


async def _staff(token: str, request: Request) -> Staff | None:
    """The staff member behind a token, or None when it does not sign anyone in here."""
    who = await signed_in(request, token)
    return who if isinstance(who, Staff) else None


def _login_page(
    request: Request, next: str, status: int = 200, error: str | None = None
) -> HTMLResponse:
    """The login form, with a CSRF token bound to the visitor's (anonymous) cookie. An
    answer to another site's post sets no cookie at all (the form there is not ours)."""
    foreign = status == 403 and error == FOREIGN
    binding = "" if foreign else csrf.anonymous_binding(request)
    response = render(
        "login.html", status, next=next, error=error, csrf=csrf.make(request, binding)
    )
    if binding:
        csrf.keep_anonymous(request, response, binding)
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/ui/") -> HTMLResponse:
    return _login_page(request, _safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    if not same_origin(request):
        # Another site posting a token would sign the visitor in as someone else.
        return _login_page(request, "/ui/", 403, FOREIGN)
    form = parse_qs((await read_limited(request, FORM_BYTES)).decode(errors="replace"))
    token = form.get("token", [""])[0].strip()
    target = _safe_next(form.get("next", ["/ui/"])[0])
    if not csrf.valid(request, form, cookie=csrf.ANONYMOUS_COOKIE):
        return _login_page(request, target, 403, csrf.REFUSED)
    if await _staff(token, request) is None:
        return _login_page(request, target, 401, "Deze toegangscode klopt niet.")
    response = RedirectResponse(target, status_code=303)
    set_sign_in(request, response, COOKIE, token)
    return response


def _safe_next(target: str) -> str:
    """Only paths on this site: a login must never redirect elsewhere."""
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/"


@router.get("/")
async def home(request: Request) -> Response:
    if await _staff(signed_in_token(request, COOKIE), request) is None:
        return RedirectResponse("/ui/login", status_code=303)
    return render("home.html")


def _ask(
    request: Request, key: str, status: int = 200, error: str | None = None, before: str = ""
) -> HTMLResponse:
    """The purpose form: no customer data is shown (or logged) before there is a purpose."""
    activities = services(request).activities
    return render(
        "purpose.html",
        status,
        key=key,
        activities=activities,
        error=error,
        before=before,
        csrf=csrf.token(request),
    )


def _to_login(key: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/login?next={quote(f'/ui/customers/{key}')}", status_code=303)


@router.get("/customers/{key}")
async def customer_form(key: str, request: Request, before: str = "") -> Response:
    """Ask why the customer is viewed; a purpose in the query is refused, not used."""
    if "purpose" in request.query_params:
        return _ask(request, key, 400, PURPOSE_IN_URL, before)
    if await _staff(signed_in_token(request, COOKIE), request) is None:
        return _to_login(key)
    return _ask(request, key, before=before)


@router.post("/customers/{key}")
async def customer_page(key: str, request: Request) -> Response:
    """The customer page, in answer to the posted purpose (and cursor, for older events)."""
    if not same_origin(request):
        # Another site could otherwise open (and log) a view with a purpose of its choosing.
        return _ask(request, key, 403, PURPOSE_FOREIGN)
    staff = await _staff(signed_in_token(request, COOKIE), request)
    if staff is None:
        return _to_login(key)
    form = parse_qs((await read_limited(request, FORM_BYTES)).decode(errors="replace"))
    purpose = form.get("purpose", [""])[0].strip()
    before = form.get("before", [""])[0] or None
    if not csrf.valid(request, form):
        return _ask(request, key, 403, csrf.REFUSED, before or "")
    if not purpose:
        return _ask(request, key, before=before or "")
    if len(purpose) > PURPOSE_MAX:
        return _ask(request, key, 400, PURPOSE_TOO_LONG, before or "")
    try:
        try:
            return await _customer(request, staff, key, purpose, before)
        except KafkaAdapterError as exc:  # the access record was not taken: no page
            raise kafka_problem(exc) from None
    except Problem as problem:
        if problem.status == 403:
            return render("forbidden.html", status=403, key=key)
        if problem.status == 404:
            return render("not_found.html", status=404, key=key)
        if problem.status >= 500:  # says what is down (the log says where), shows nothing
            unavailable = render("unavailable.html", problem.status)
            unavailable.headers.update(problem.headers)
            return unavailable
        raise


async def _customer(
    request: Request, staff: Staff, key: str, purpose: str, before: str | None
) -> Response:
    group, role = await customer_access(request, staff, key)
    why = resolve(services(request).activities, purpose)
    async with connection(request) as conn:
        customer = await customers.summary(conn, group)
        try:
            page = await customers.timeline(conn, group, 100, before)
        except customers.BadCursor:
            page = await customers.timeline(conn, group, 100, None)
    await record(request, staff, why, "klantbeeld (medewerkerspagina)", {group.root: role})
    response = render(
        "customer.html",
        customer=customer,
        timeline=page["items"],
        next=page["next"],
        key=key,
        purpose=purpose,
        csrf=csrf.token(request),
    )
    response.headers.update(NO_STORE)
    return response
