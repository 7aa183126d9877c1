"""Contact registreren: the call (or visit) a member of staff is on, from the customer page
(`POST /ui/customers/{key}/contact`) or from the search (`POST /ui/contact`, for the
identifiers typed there: a caller who is not known yet).

The form maps to the events a channel system's record makes (services/ingest/
staff_contact.py: contact.recorded, and with Terugbelverzoek request.opened of type
callback, whose clock the worker starts) and goes through the same ingest path (sealing,
data keys, publish). The form's id is its source record id: a double submit is the same
events and counts once. The page then shows the customer with the new contact, once
projected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from schemas.events import Channel
from schemas.identifiers import IdentifierKind, InvalidIdentifier
from services.api import csrf
from services.api.browser import same_origin
from services.api.database import connection
from services.api.problems import Problem
from services.api.staff_routes import actor_of
from services.api.state import services
from services.api.ui_actions import UNAVAILABLE, _projected
from services.api.ui_common import (
    AMSTERDAM,
    FOREIGN_FORM,
    one,
    read_form,
    signed_in_staff,
    to_login,
)
from services.api.ui_customer import ask, back_to, show
from services.api.ui_search import search_page
from services.ingest.common import TYPED, VERIFIED, identifiers
from services.ingest.staff_contact import StaffContact, map_staff_contact
from services.kafka.errors import KafkaAdapterError
from services.privacy.sealer import SealingUnavailable
from services.readmodel import staff_page

router = APIRouter()
FORM_BYTES = 64 * 1024  # a summary of 20,000 characters, percent-encoded
SAVED = "Het contact is geregistreerd."
SAVED_CALLBACK = "Het contact is geregistreerd, met een terugbelverzoek voor {department}."
LABELS = {
    "channel": "Kanaal",
    "subject": "Onderwerp",
    "summary": "Samenvatting",
    "outcome": "Uitkomst",
    "department": "Afdeling",
    "phone": "Terugbelnummer",
    "before": "Terugbellen vóór",
}
BAD_FIELD = "Controleer het veld ‘{label}’: {problem}. Er is niets opgeslagen."
NO_ONE = (
    "Vul bij het zoeken een BSN, KvK-nummer, e-mailadres of telefoonnummer in om het contact "
    "aan iemand te koppelen. Er is niets opgeslagen."
)


class FieldProblem(ValueError):
    """A field of the form the page refuses; the message says which and what to do."""


UNKNOWN_DEPARTMENT = "kies een afdeling uit de lijst"


def _contact(
    form: dict[str, list[str]], departments: tuple[str, ...] = (), zone: Any = AMSTERDAM
) -> StaffContact:
    """The posted form as the mapping's model; FieldProblem names the field. With a list
    of departments configured, a callback goes to one of them only."""
    try:
        contact = _model(form, zone)
    except ValidationError as exc:
        raise FieldProblem(_problem(exc)) from None
    if contact.callback and departments and contact.callback.department not in departments:
        raise FieldProblem(BAD_FIELD.format(label=LABELS["department"], problem=UNKNOWN_DEPARTMENT))
    return contact


def _model(form: dict[str, list[str]], zone: Any) -> StaffContact:
    fields: dict[str, Any] = {
        "form_id": one(form, "form_id"),
        "channel": one(form, "channel"),
        "subject": one(form, "subject"),
        "outcome": one(form, "outcome"),
    }
    if one(form, "summary"):
        fields["summary"] = one(form, "summary")
    if one(form, "callback"):
        callback: dict[str, Any] = {
            "department": one(form, "department"),
            "phone": one(form, "callback_phone"),
        }
        if one(form, "callback_before"):
            try:  # <input type="datetime-local">: wall-clock time in Amsterdam
                local = datetime.fromisoformat(one(form, "callback_before"))
                callback["before"] = local if local.tzinfo else local.replace(tzinfo=zone)
            except ValueError:
                callback["before"] = one(form, "callback_before")  # the model names it
        fields["callback"] = callback
    return StaffContact.model_validate(fields)


def _problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    name = {"callback_phone": "phone"}.get(loc[-1], loc[-1])
    if loc[0] == "callback" and len(loc) > 1:
        name = loc[1]
    label = LABELS.get(name, LABELS.get(loc[0], loc[0]))
    return BAD_FIELD.format(label=label, problem=_dutch(error))


def _dutch(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind in ("missing", "string_too_short"):
        return "vul dit in"
    if kind in ("string_too_long", "too_long"):  # too_long: a limit on top of a text type
        return "dit is te lang"
    if kind in ("enum", "literal_error"):
        return "kies een van de mogelijkheden"
    if "datetime" in kind:
        return "vul een datum en tijd in"
    return "dit is niet geldig"


@router.post("/customers/{key}/contact")
async def contact_for_customer(key: str, request: Request) -> Response:
    if not same_origin(request):
        return ask(request, key, 403, FOREIGN_FORM)
    staff = await signed_in_staff(request)
    if staff is None:
        return to_login(back_to(key))
    form = await read_form(request, FORM_BYTES)
    purpose = one(form, "purpose")
    if not csrf.valid(request, form):
        return ask(request, key, 403, csrf.REFUSED)
    if not purpose:
        return ask(request, key)
    kept = {name: one(form, name) for name in form if name not in ("csrf", "purpose")}
    try:
        contact = _contact(form, services(request).settings.department_choices)
    except FieldProblem as exc:
        return await show(request, staff, key, purpose, error=str(exc), status=422, contact=kept)
    async with connection(request) as conn:
        defining = await staff_page.defining_identifier(conn, key)
    if defining is None:
        return await show(request, staff, key, purpose, status=404)
    return await _register(request, staff, purpose, contact, [defining], kept)


@router.post("/contact")
async def contact_from_search(request: Request) -> Response:
    if not same_origin(request):
        return await search_page(request, None, error=FOREIGN_FORM, status=403)
    staff = await signed_in_staff(request)
    if staff is None:
        return to_login("/ui/")
    form = await read_form(request, FORM_BYTES)
    if not csrf.valid(request, form):
        return await search_page(request, staff, error=csrf.REFUSED, status=403)
    purpose = one(form, "purpose")
    given = {k: one(form, k) for k in ("bsn", "kvk", "email", "phone") if one(form, k)}
    kept = {name: one(form, name) for name in form if name != "csrf"}
    pseudonyms = services(request).pseudonymiser
    try:
        contact = _contact(form, services(request).settings.department_choices)
        # As the phone channel has it: a BSN or KvK-nummer the member of staff checked is
        # verified, an address or number said on the phone is typed. Strongest first.
        known = identifiers(
            pseudonyms,
            *(
                (IdentifierKind(kind), raw, VERIFIED if kind in ("bsn", "kvk") else TYPED)
                for kind, raw in given.items()
            ),
        )
    except FieldProblem as exc:
        return await search_page(request, staff, error=str(exc), status=422, kept=kept)
    except InvalidIdentifier:
        return await search_page(
            request, staff, error=NO_ONE.replace("Vul", "Controleer"), status=422, kept=kept
        )
    if not known or not purpose:
        return await search_page(request, staff, error=NO_ONE, status=422, kept=kept)
    return await _register(request, staff, purpose, contact, known, kept)


async def _register(
    request: Request,
    staff: Any,
    purpose: str,
    contact: StaffContact,
    known: list[Any],
    kept: dict[str, str],
) -> Response:
    ingest = services(request).ingest
    mapped = map_staff_contact(
        contact, known, ingest.pseudonyms, actor_of(staff), datetime.now(UTC)
    )
    key = mapped.customer_key
    try:
        await ingest.accept(
            contact.channel if isinstance(contact.channel, Channel) else Channel(contact.channel),
            mapped,
        )
    except (KafkaAdapterError, SealingUnavailable):
        return await show(request, staff, key, purpose, error=UNAVAILABLE, status=503, contact=kept)
    except Problem as problem:
        return await show(
            request,
            staff,
            key,
            purpose,
            error=str(problem.detail),
            status=problem.status,
            contact=kept,
        )
    projected = all([await _projected(request, e.id) for e in mapped.events[-1:]])
    notice = (
        SAVED_CALLBACK.format(department=contact.callback.department) if contact.callback else SAVED
    )
    if not projected:
        notice += " Het kan een paar seconden duren voor de pagina het laat zien."
    return await show(request, staff, key, purpose, notice=notice)
