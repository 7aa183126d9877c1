"""Find a customer: the start page's search form and its results.

The identifiers (BSN, KvK-nummer, e-mailadres, telefoonnummer) and the purpose are posted
to `POST /ui/zoeken`, never put in a URL. The search is the API's (staff_routes.
find_customers: the role's reach, at most CONTACTMOMENT_SEARCH_LIMIT results, an access
record for each customer shown). Each result opens the customer with the same purpose (a
POST, no second prompt).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.api import csrf
from services.api.access import PURPOSE_MAX, resolve
from services.api.auth import Staff
from services.api.browser import same_origin
from services.api.problems import Problem
from services.api.staff_routes import Search, find_customers
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
from services.api.ui_customer import problem_page
from services.kafka.errors import KafkaAdapterError

router = APIRouter()
FIELDS = ("bsn", "kvk", "email", "phone")
NOTHING_GIVEN = (
    "Vul minstens één van de vier velden in: BSN, KvK-nummer, e-mailadres of telefoonnummer."
)
NO_PURPOSE = "Kies of schrijf bij Doel waarom u zoekt. Elke inzage wordt vastgelegd met het doel."
PURPOSE_TOO_LONG = f"Het doel is te lang: gebruik ten hoogste {PURPOSE_MAX} tekens."
INVALID = {
    "bsn": "Dit BSN is niet geldig. Een BSN heeft 9 cijfers en moet kloppen met de elfproef. "
    "Kijk het nummer na.",
    "kvk": "Dit KvK-nummer is niet geldig. Een KvK-nummer heeft 8 cijfers.",
    "email": "Dit e-mailadres is niet geldig. Kijk het adres na (bijvoorbeeld naam@voorbeeld.nl).",
    "phone": "Dit telefoonnummer is niet geldig. Gebruik alleen cijfers, eventueel met +31.",
}
NONE_FOUND = (
    "Geen klant gevonden die u mag zien. Kijk de gegevens na, of zoek op een ander gegeven."
)
TOO_MANY = (
    "Er zijn meer dan {n} klanten met deze gegevens. U ziet de {n} met het laatste contact: "
    "verfijn uw zoekopdracht, bijvoorbeeld met een BSN of KvK-nummer."
)
BUSY = "U hebt in korte tijd erg vaak gezocht. Wacht een minuut en probeer het opnieuw."


@router.get("/")
async def home(request: Request) -> Response:
    staff = await signed_in_staff(request)
    if staff is None:
        return to_login("/ui/")
    return await search_page(request, staff)


async def search_page(
    request: Request,
    staff: Staff | None,
    *,
    results: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
    kept: dict[str, str] | None = None,
) -> Response:
    """The search form (what was typed kept in it), the results or what went wrong, and the
    contact form for a caller found or not."""
    response = render(
        "home.html",
        status,
        activities=services(request).activities,
        results=results,
        error=error,
        kept=kept or {},
        csrf=csrf.token(request) if staff else "",
        contact_form_id=uuid.uuid4().hex,
        departments=services(request).settings.department_choices,
        current="zoeken",
    )
    response.headers.update(NO_STORE)
    return response


@router.post("/zoeken")
async def search(request: Request) -> Response:
    started = time.perf_counter()
    return server_timing(await _search(request), started)


async def _search(request: Request) -> Response:
    if not same_origin(request):
        return await search_page(request, None, error=FOREIGN_FORM, status=403)
    staff = await signed_in_staff(request)
    if staff is None:
        return to_login("/ui/")
    form = await read_form(request)
    kept = {name: one(form, name) for name in (*FIELDS, "purpose")}
    if not csrf.valid(request, form):
        return await search_page(request, staff, error=csrf.REFUSED, status=403, kept=kept)
    given = {name: kept[name] for name in FIELDS if kept[name]}
    if not given:
        return await search_page(request, staff, error=NOTHING_GIVEN, status=422, kept=kept)
    purpose = kept["purpose"]
    if not purpose:
        return await search_page(request, staff, error=NO_PURPOSE, status=422, kept=kept)
    if len(purpose) > PURPOSE_MAX:
        return await search_page(request, staff, error=PURPOSE_TOO_LONG, status=422, kept=kept)
    try:
        query = Search.model_validate(given)
        answer = await find_customers(
            request, staff, resolve(services(request).activities, purpose), query
        )
    except ValidationError:
        return await search_page(request, staff, error=NOTHING_GIVEN, status=422, kept=kept)
    except KafkaAdapterError:
        return problem_page(Problem(503, "Unavailable", "access log"))
    except Problem as problem:
        if problem.status == 422:
            field = _field(problem)
            message = INVALID.get(field, NOTHING_GIVEN)
            return await search_page(request, staff, error=message, status=422, kept=kept)
        if problem.status == 429:
            return await search_page(request, staff, error=BUSY, status=429, kept=kept)
        return problem_page(problem)
    items = answer["items"]
    notice = None
    if not items:
        notice = NONE_FOUND
    elif answer["more"]:
        notice = TOO_MANY.format(n=len(items))
    results = {"customers": items, "more": answer["more"], "notice": notice}
    return await search_page(request, staff, results=results, kept=kept)


def _field(problem: Problem) -> str:
    errors = problem.extra.get("errors") or [{}]
    return str(errors[0].get("field", ""))
