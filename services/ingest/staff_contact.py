"""A contact a member of staff registers on the staff page (the call they are on, a visit
at the desk) → the same events the channel mappings make: contact.recorded, and with a
callback request request.opened of type callback (which starts the request's clock).

Pure, like the other mappings: the identifiers come in already hashed (from the customer's
page: the identifier that defines the customer's key; from the search: what was typed), the
events go out. The source record is the form: its id (one per rendered form) makes a double
submit the same events, which count once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Actor, Channel, ContactRecorded, Direction, EventType, RequestType
from schemas.identifiers import IdentifierKind
from schemas.keys import Identifier, Pseudonymiser
from services.ingest.common import (
    TYPED,
    EventBuilder,
    FreeText,
    Instant,
    Mapped,
    Phone,
    ShortText,
    SourceId,
    clean,
    identifiers,
    request_id_for,
)
from services.settings import DEPARTMENT_MAX

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class StaffOutcome(StrEnum):
    ANSWERED = "answered"  # the question was answered in the contact
    CALLBACK_REQUESTED = "callback-requested"
    FORWARDED = "forwarded"
    REFERRED = "referred"


class StaffCallback(BaseModel):
    """Terugbelverzoek: who calls back (a department), which number, and the wish time."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # As long as the worklist's department filter takes: a longer name could not be found.
    department: Annotated[ShortText, Field(max_length=DEPARTMENT_MAX)]
    phone: Phone
    before: Instant | None = None


class StaffContact(BaseModel):
    """The form Contact registreren."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    form_id: SourceId
    channel: Channel
    direction: Direction = Direction.INBOUND
    subject: ShortText
    summary: FreeText | None = None
    outcome: StaffOutcome
    callback: StaffCallback | None = None


def map_staff_contact(
    contact: StaffContact,
    known: list[Identifier],
    pseudonyms: Pseudonymiser,
    actor: Actor,
    at: datetime,
) -> Mapped:
    """The events of one registered contact. `known` starts with the identifier that
    defines the customer's key (customer_key takes the strongest kind, the first of a kind);
    a callback number is added as typed (said on the phone), as the phone channel does, and
    written in the summary with the wish time, for whoever calls back."""
    source_id = f"staff-{contact.form_id}"
    summary = contact.summary
    request_id = None
    if contact.callback is not None:
        request_id = request_id_for(contact.channel, source_id)
        number = identifiers(pseudonyms, (IdentifierKind.PHONE, contact.callback.phone, TYPED))
        known = [*known, *(i for i in number if i.hash not in {k.hash for k in known})]
        summary = "\n\n".join(filter(None, [summary, _callback_line(contact.callback)]))
    events = EventBuilder(contact.channel, source_id, known)
    outcome = StaffOutcome.CALLBACK_REQUESTED if request_id else contact.outcome
    events.add(
        EventType.CONTACT_RECORDED,
        at,
        ContactRecorded(
            channel=contact.channel,
            direction=contact.direction,
            subject=contact.subject,
            outcome=outcome.value,
            identifiers=known,
            summary=clean(summary),
            actor=actor,
            request_id=request_id,
        ),
    )
    if request_id and contact.callback is not None:
        events.open_request(
            at, request_id, RequestType.CALLBACK, contact.subject, contact.callback.department
        )
    return events.result()


def _callback_line(callback: StaffCallback) -> str:
    line = f"Terugbellen op {callback.phone}"
    if callback.before is not None:
        line += f", graag vóór {callback.before.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"
    return line + "."
