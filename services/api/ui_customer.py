"""The customer page: who this is, each open request with its due instant in words, its
history and a button per step its status allows, the contact form, and the timeline.

`GET /ui/customers/{key}` only asks for the purpose (and refuses `?purpose=`); the page is
the answer to a POST that carries it: the purpose form's, a search result's (the purpose of
the search goes with it, no second prompt), or an action's (which shows the page again with
what happened). Each page shown is one access record, as the API's customer read is.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.clock.due_words import due_in_words
from domain.clock.steps import allowed_steps
from services.api import csrf
from services.api.access import PURPOSE_MAX, record, resolve
from services.api.auth import Staff
from services.api.browser import same_origin
from services.api.database import connection
from services.api.problems import Problem, kafka_problem
from services.api.staff_routes import customer_access
from services.api.state import services
from services.api.ui_common import (
    FOREIGN_FORM,
    NO_STORE,
    one,
    read_form,
    render,
    server_timing,
    signed_in_staff,
    to_login,
)
from services.kafka.errors import KafkaAdapterError
from services.readmodel import customers, staff_page, worklist

router = APIRouter()
PURPOSE_IN_URL = (
    "Kies het doel in het formulier hieronder. Een doel in de adresregel wordt niet gebruikt: "
    "een adres blijft staan in de browsergeschiedenis en in logbestanden."
)
PURPOSE_FOREIGN = "Het doel kan alleen met het formulier op deze pagina worden gekozen."
PURPOSE_TOO_LONG = f"Het doel is te lang: gebruik ten hoogste {PURPOSE_MAX} tekens."
TIMELINE_PAGE = 100
CLOSED_SHOWN = 10  # the most recently closed requests, to reopen one


def ask(
    request: Request, key: str, status: int = 200, error: str | None = None, before: str = ""
) -> HTMLResponse:
    """The purpose form: no customer data is shown (or logged) before there is a purpose."""
    return render(
        "purpose.html",
        status,
        key=key,
        activities=services(request).activities,
        error=error,
        before=before,
        csrf=csrf.token(request),
    )


def back_to(key: str) -> str:
    return f"/ui/customers/{key}"


@router.get("/customers/{key}")
async def customer_form(key: str, request: Request, before: str = "") -> Response:
    """Ask why the customer is viewed; a purpose in the query is refused, not used."""
    if "purpose" in request.query_params:
        return ask(request, key, 400, PURPOSE_IN_URL, before)
    if await signed_in_staff(request) is None:
        return to_login(back_to(key))
    return ask(request, key, before=before)


@router.get("/customers/{key}/{form}")
async def form_address(key: str, form: str) -> Response:
    """An action's address opened again (history, reload without the post): the customer's
    own address, which asks for the purpose."""
    return RedirectResponse(back_to(key), status_code=303)


@router.post("/customers/{key}")
async def customer_page(key: str, request: Request) -> Response:
    """The customer page, in answer to the posted purpose (and cursor, for older events)."""
    if not same_origin(request):
        # Another site could otherwise open (and log) a view with a purpose of its choosing.
        return ask(request, key, 403, PURPOSE_FOREIGN)
    staff = await signed_in_staff(request)
    if staff is None:
        return to_login(back_to(key))
    form = await read_form(request)
    purpose, before = one(form, "purpose"), one(form, "before")
    if not csrf.valid(request, form):
        return ask(request, key, 403, csrf.REFUSED, before)
    if not purpose:
        return ask(request, key, before=before)
    if len(purpose) > PURPOSE_MAX:
        return ask(request, key, 400, PURPOSE_TOO_LONG, before)
    return await show(request, staff, key, purpose, before or None)


async def show(
    request: Request,
    staff: Staff,
    key: str,
    purpose: str,
    before: str | None = None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    contact: dict[str, str] | None = None,
) -> Response:
    """The customer page (recorded in the access log), with a notice of what was done or
    an error of what was refused; a refused or failed read shows a page that says so."""
    started = time.perf_counter()
    try:
        try:
            page = await _page(request, staff, key, purpose, before)
        except KafkaAdapterError as exc:  # the access record was not taken: no page
            raise kafka_problem(exc) from None
    except Problem as problem:
        return problem_page(problem, key)
    response = render(
        "customer.html",
        status,
        **page,
        purpose=purpose,
        notice=notice,
        error=error,
        contact=contact or {},
        departments=services(request).settings.department_choices,
        csrf=csrf.token(request),
    )
    response.headers.update(NO_STORE)
    return server_timing(response, started)


def problem_page(problem: Problem, key: str = "") -> HTMLResponse:
    """A refused or failed read as a page: forbidden, unknown, or unavailable."""
    if problem.status == 403:
        return render("forbidden.html", status=403, key=key)
    if problem.status == 404:
        return render("not_found.html", status=404, key=key)
    if problem.status >= 500:  # says what is down (the log says where), shows nothing
        unavailable = render("unavailable.html", problem.status)
        unavailable.headers.update(problem.headers)
        return unavailable
    raise problem


async def _page(
    request: Request, staff: Staff, key: str, purpose: str, before: str | None
) -> dict[str, Any]:
    group, role = await customer_access(request, staff, key)
    why = resolve(services(request).activities, purpose)
    settings = services(request).settings
    async with connection(request) as conn:
        customer = await customers.summary(conn, group, settings.shared_identifier_threshold)
        try:
            timeline = await customers.timeline(conn, group, TIMELINE_PAGE, before)
        except customers.BadCursor:
            timeline = await customers.timeline(conn, group, TIMELINE_PAGE, None)
        closed = await staff_page.recently_closed(conn, group.keys, CLOSED_SHOWN)
        histories = await staff_page.histories(
            conn, [r["request_id"] for r in [*customer["open_requests"], *closed]]
        )
    await record(request, staff, why, "klantbeeld (medewerkerspagina)", {group.root: role})
    calendar = services(request).catalogue.calendar
    now = datetime.now(UTC)
    open_requests: list[dict[str, Any]] = []
    closed_requests: list[dict[str, Any]] = []
    for r in [*customer["open_requests"], *closed]:
        due = datetime.fromisoformat(r["due_at"]) if r["due_at"] else None
        shown = closed_requests if r["status"] in worklist.CLOSED_STATUSES else open_requests
        shown.append(
            {
                **r,
                "due_words": due_in_words(due, now, calendar) if due else None,
                "late": due is not None and due < now,
                "history": histories.get(r["request_id"], []),
                "steps": allowed_steps(r["status"], r["acknowledged_at"] is not None),
                # One key per rendered form: a double click posts it twice, counts once.
                "form_id": uuid.uuid4().hex,
            }
        )
    return {
        "key": key,
        "customer": customer,
        "open_requests": open_requests,
        "closed_requests": closed_requests,
        "timeline": timeline["items"],
        "next": timeline["next"],
        "contact_form_id": uuid.uuid4().hex,
        "foreign_form": FOREIGN_FORM,
    }
