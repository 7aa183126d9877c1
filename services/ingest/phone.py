"""Telephony webhook → events. Every call is a contact; a callback request opens a request."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator

from schemas.events import (
    Actor,
    Channel,
    ContactRecorded,
    Direction,
    EventType,
    RequestType,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser
from services.ingest.common import (
    TYPED,
    VERIFIED,
    Bsn,
    EventBuilder,
    FreeText,
    Instant,
    Mapped,
    Payload,
    Phone,
    ShortText,
    SourceId,
    clean,
    identifiers,
    request_id_for,
)


class CallOutcome(StrEnum):
    ANSWERED = "answered"
    CALLBACK_REQUESTED = "callback-requested"
    FORWARDED = "forwarded"
    ABANDONED = "abandoned"


class Callback(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    phone: Phone
    before: Instant | None = None


class PhoneCall(Payload):
    """The telephony platform's webhook for one finished call."""

    call_id: SourceId
    direction: Direction
    caller: Phone | None = None
    started_at: Instant
    ended_at: Instant | None = None
    queue: ShortText
    agent: ShortText | None = None
    bsn: Bsn | None = None
    subject: ShortText | None = None
    notes: FreeText | None = None
    outcome: CallOutcome
    callback: Callback | None = None

    @model_validator(mode="after")
    def _someone_to_identify(self) -> PhoneCall:
        if not (self.bsn or self.caller or (self.callback and self.callback.phone)):
            raise ValueError("caller: a withheld number needs a verified bsn or a callback.phone")
        if self.outcome is CallOutcome.CALLBACK_REQUESTED and self.callback is None:
            raise ValueError("callback: required when outcome is callback-requested")
        return self


def map_phone_call(call: PhoneCall, pseudonyms: Pseudonymiser) -> Mapped:
    """The agent's verified BSN, else the caller's number, identifies the customer.

    Provenance: the BSN is the one the agent verified; the line the caller calls from is
    theirs only when the agent verified who calls (a BSN); a callback number is said on the
    phone, so typed."""
    idents = identifiers(
        pseudonyms,
        (IdentifierKind.BSN, call.bsn, VERIFIED),
        (IdentifierKind.PHONE, call.caller, VERIFIED if call.bsn else TYPED),
        (IdentifierKind.PHONE, call.callback.phone if call.callback else None, TYPED),
    )
    events = EventBuilder(Channel.PHONE, call.call_id, idents)
    subject = clean(call.subject, 500) or call.queue
    request_id = None
    if call.outcome is CallOutcome.CALLBACK_REQUESTED:
        request_id = request_id_for(Channel.PHONE, call.call_id)
    events.add(
        EventType.CONTACT_RECORDED,
        call.started_at,
        ContactRecorded(
            channel=Channel.PHONE,
            direction=call.direction,
            subject=subject,
            outcome=call.outcome.value,
            identifiers=idents,
            summary=clean(call.notes),
            actor=Actor(kind="employee", id=call.agent, department=call.queue)
            if call.agent
            else None,
            request_id=request_id,
        ),
    )
    if request_id:
        events.open_request(call.started_at, request_id, RequestType.CALLBACK, subject, call.queue)
    return events.result()
