"""A step on a request from the customer page (Ontvangst bevestigen … Heropenen).

The form posts to `POST /ui/customers/{key}/stap` and goes the API's own way
(staff_routes.publish_step: role check, the signed-in member of staff as actor, the event
the API makes). Each rendered form has its own id, used as the idempotency key, so a double
click is the same event and counts once. Before publishing, the request's status right now
is checked against the domain's rules (domain/clock/steps.py): a page that is out of date
offers a step the request no longer allows, and that is refused with a message rather than
sent. After publishing, the page waits (at most PROJECTED_WITHIN) until the projector has
applied the event, then shows the customer again with the new state.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from domain.clock.steps import allows
from schemas.keys import event_id
from services.api import csrf
from services.api.browser import same_origin
from services.api.database import connection
from services.api.problems import Problem
from services.api.staff_routes import RequestAction, publish_step
from services.api.ui_common import (
    DONE,
    FOREIGN_FORM,
    STATUSES,
    one,
    read_form,
    signed_in_staff,
    to_login,
)
from services.api.ui_customer import ask, back_to, problem_page, show
from services.kafka.errors import KafkaAdapterError
from services.readmodel import staff_page

router = APIRouter()
PROJECTED_WITHIN = 2.0  # seconds: the page shows the new state once the read model has it
SOURCE = "urn:contactmoment:staff"  # what publish_step's events come from
REFRESH = "De pagina laat nu zien hoe het verzoek ervoor staat."
UNKNOWN = "Dit verzoek is niet (meer) bekend. Er is niets opgeslagen."
NOT_ALLOWED = (
    "Dit kan niet meer: het verzoek is nu {status}. Er is niets opgeslagen. "
    "Misschien heeft iemand anders het net gewijzigd. " + REFRESH
)
FORBIDDEN = (
    "U mag dit verzoek niet wijzigen: het hoort niet bij uw afdeling of rol. Er is niets "
    "opgeslagen. Vraag de afdeling van het verzoek of de regieteam om het te doen."
)
UNAVAILABLE = (
    "Het opslaan lukt nu niet: het systeem is even niet bereikbaar. Er is niets opgeslagen. "
    "Probeer het over een minuut opnieuw."
)
LATER = "Opgeslagen. Het kan een paar seconden duren voor de pagina het laat zien."
FIELDS = {
    "note": "Vul een tekst in voor het tussenbericht (ten hoogste 20.000 tekens).",
    "reason": "Vul een reden in om te heropenen (ten hoogste 500 tekens).",
    "extension": "Kies een termijn voor de verlenging.",
}


def _action(form: dict[str, list[str]]) -> RequestAction:
    step = one(form, "step")
    fields: dict[str, str] = {"type": step}
    for name in ("note", "reason", "extension"):
        if one(form, name):
            fields[name] = one(form, name)
    return RequestAction.model_validate(fields)


def _missing(step: str, action: RequestAction) -> str | None:
    """The field this step needs and lacks (the event model allows them empty)."""
    if step == "interim-update" and not action.note:
        return FIELDS["note"]
    if step == "reopened" and not action.reason:
        return FIELDS["reason"]
    if step == "extended" and not action.extension:
        return FIELDS["extension"]
    return None


@router.post("/customers/{key}/stap")
async def take_step(key: str, request: Request) -> Response:
    if not same_origin(request):
        return ask(request, key, 403, FOREIGN_FORM)
    staff = await signed_in_staff(request)
    if staff is None:
        return to_login(back_to(key))
    form = await read_form(request, 64 * 1024)  # an interim note of 20,000 characters
    purpose = one(form, "purpose")
    if not csrf.valid(request, form):
        return ask(request, key, 403, csrf.REFUSED)
    if not purpose:
        return ask(request, key)
    request_id, form_id, step = one(form, "request_id"), one(form, "form_id"), one(form, "step")

    async def again(
        error: str | None = None, notice: str | None = None, status: int = 200
    ) -> Response:
        return await show(request, staff, key, purpose, notice=notice, error=error, status=status)

    try:
        action = _action(form)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "type"
        return await again(FIELDS.get(field, "Deze stap bestaat niet. " + REFRESH), status=422)
    if missing := _missing(step, action):
        return await again(missing, status=422)
    # The same form posted twice is the same event (publish_step derives its id from
    # the form's id): once it is in the read model, the second post only shows the page.
    expected = str(
        event_id(SOURCE, f"{request_id}:{form_id}", f"nl.contactmoment.request.{step}.v1", "")
    )
    async with connection(request) as conn:
        if form_id and await staff_page.has_event(conn, expected):
            return await again(notice=DONE[step])
        state = await staff_page.request_state(conn, request_id)
    if state is None or state["customer_key"] is None:
        return await again(UNKNOWN, status=404)
    if not allows(state["status"], step, state["acknowledged_at"] is not None):
        status = STATUSES.get(state["status"], state["status"]).lower()
        return await again(NOT_ALLOWED.format(status=status), status=409)
    try:
        event = await publish_step(request, staff, request_id, action, form_id or None)
    except KafkaAdapterError:
        return await again(UNAVAILABLE, status=503)
    except Problem as problem:
        if problem.status == 403:
            return await again(FORBIDDEN, status=403)
        if problem.status == 404:
            return await again(UNKNOWN, status=404)
        if problem.status == 422:
            return await again(FIELDS.get(step_field(step), REFRESH), status=422)
        if problem.status >= 500:
            return await again(UNAVAILABLE, status=problem.status)
        return problem_page(problem, key)
    projected = await _projected(request, str(event.id))
    return await again(notice=DONE[step] if projected else LATER)


def step_field(step: str) -> str:
    return {"interim-update": "note", "reopened": "reason", "extended": "extension"}.get(step, "")


async def _projected(request: Request, event: str) -> bool:
    """Wait until the projector applied `event`, at most PROJECTED_WITHIN seconds."""
    deadline = time.monotonic() + PROJECTED_WITHIN
    while True:
        async with connection(request) as conn:
            if await staff_page.has_event(conn, event):
                return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
