"""Appointment-system visit → events: the visit is a contact, each issued document an event."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events import (
    Actor,
    Channel,
    ContactRecorded,
    Direction,
    DocumentIssued,
    DocumentKind,
    EventType,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser
from services.ingest.common import (
    VERIFIED,
    Bsn,
    EventBuilder,
    Instant,
    Kvk,
    Mapped,
    Payload,
    ShortText,
    SourceId,
    identifiers,
)


class VisitOutcome(StrEnum):
    SERVED = "served"
    NO_SHOW = "no-show"
    REFERRED = "referred"


class IssuedDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DocumentKind
    valid_until: date


class CounterVisit(Payload):
    """The appointment system's record of one visit (or no-show) at a counter."""

    visit_id: SourceId
    appointment_id: SourceId | None = None
    location: ShortText
    scheduled_at: Instant | None = None
    checked_in_at: Instant | None = None
    served_at: Instant | None = None
    ended_at: Instant | None = None
    product: ShortText
    bsn: Bsn | None = None
    kvk: Kvk | None = None
    outcome: VisitOutcome
    documents_issued: list[IssuedDocument] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> CounterVisit:
        if not (self.bsn or self.kvk):
            raise ValueError("bsn: a counter visit needs the customer's bsn or kvk")
        if self.happened_at is None:
            raise ValueError(
                "checked_in_at: a visit needs checked_in_at or served_at (scheduled_at for a "
                "no-show)"
            )
        if self.outcome is VisitOutcome.NO_SHOW and self.documents_issued:
            raise ValueError("documents_issued: nothing can be issued at a no-show")
        return self

    @property
    def happened_at(self) -> Instant | None:
        return self.served_at or self.checked_in_at or self.scheduled_at


def map_counter_visit(visit: CounterVisit, pseudonyms: Pseudonymiser) -> Mapped:
    # The desk checks the ID (or the KvK extract) of who stands there: both verified.
    idents = identifiers(
        pseudonyms,
        (IdentifierKind.BSN, visit.bsn, VERIFIED),
        (IdentifierKind.KVK, visit.kvk, VERIFIED),
    )
    events = EventBuilder(Channel.COUNTER, visit.visit_id, idents)
    when = visit.happened_at
    assert when is not None  # checked by the payload model
    events.add(
        EventType.CONTACT_RECORDED,
        when,
        ContactRecorded(
            channel=Channel.COUNTER,
            direction=Direction.INBOUND,
            subject=visit.product,
            outcome=visit.outcome.value,
            identifiers=idents,
            actor=Actor(kind="system", id="afsprakensysteem", department=visit.location),
        ),
    )
    for index, document in enumerate(visit.documents_issued):
        events.add(
            EventType.DOCUMENT_ISSUED,
            visit.ended_at or when,
            DocumentIssued(document_kind=document.kind, valid_until=document.valid_until),
            part=f"{index}:{document.kind.value}",
        )
    return events.result()
