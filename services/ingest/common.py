"""What every channel mapping shares: sources, request ids, identifier checks, results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from schemas.envelope import Envelope, new_event
from schemas.events import Channel, EventData, EventType, RequestOpened, RequestType
from schemas.identifiers import IdentifierKind, InvalidIdentifier, normalise, redact_bsns
from schemas.keys import Identifier, Pseudonymiser, customer_key
from services.privacy.sealing import looks_sealed

_REQUEST_NS = uuid.UUID("5e0b7a2c-3f41-4d8e-b6a9-1c2d3e4f5a6b")


def source_urn(channel: Channel) -> str:
    return f"urn:contactmoment:{channel.value}"


def request_id_for(channel: Channel, source_id: str) -> str:
    """A request id that is the same for every retry of the record that opened it."""
    return f"{channel.value}-{uuid.uuid5(_REQUEST_NS, f'{channel.value}:{source_id}').hex[:20]}"


def _checked(kind: IdentifierKind) -> AfterValidator:
    def check(value: str) -> str:
        try:
            normalise(kind, value)
        except InvalidIdentifier as exc:
            raise ValueError(exc.problem) from None
        return value

    return AfterValidator(check)


# Raw identifiers in channel payloads: checked at parse time, so a 422 names every bad field.
Bsn = Annotated[str, _checked(IdentifierKind.BSN)]
Kvk = Annotated[str, _checked(IdentifierKind.KVK)]
Email = Annotated[str, _checked(IdentifierKind.EMAIL)]
Phone = Annotated[str, _checked(IdentifierKind.PHONE)]
SourceId = Annotated[str, Field(min_length=1, max_length=200)]


def _not_sealed(text: str) -> str:
    # Sealed text is made by the sealer only: a copied (or forged) value would pass it untouched.
    if looks_sealed(text):
        raise ValueError("looks like sealed text (enc:v…); send plain text")
    return text


# Every free-text field of every channel has its BSNs redacted as it is parsed (queue,
# agent, form, location, product, subject, notes, message): none travels in plain text,
# and none may look sealed.
ShortText = Annotated[
    str,
    Field(min_length=1, max_length=500),
    AfterValidator(_not_sealed),
    AfterValidator(lambda t: redact_bsns(t)[:500]),
]
FreeText = Annotated[
    str, Field(max_length=20_000), AfterValidator(_not_sealed), AfterValidator(redact_bsns)
]
Instant = AwareDatetime


class Payload(BaseModel):
    """Base of channel payloads: unknown fields are refused so typos do not vanish."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass(frozen=True)
class Mapped:
    """The outcome of one ingest call: its events (in order) and the customer they are about."""

    customer_key: str
    events: list[Envelope]


class EventBuilder:
    """Builds the events of one source record: same source, record id and customer key."""

    def __init__(self, channel: Channel, source_id: str, identifiers: list[Identifier]) -> None:
        self.channel = channel
        self.source = source_urn(channel)
        self.source_id = source_id
        self.customer_key = customer_key(identifiers)
        self.events: list[Envelope] = []

    def add(self, event_type: EventType, time: datetime, data: EventData, part: str = "") -> None:
        self.events.append(
            new_event(
                event_type,
                source=self.source,
                source_id=self.source_id,
                subject=self.customer_key,
                time=time,
                data=data,
                part=part,
            )
        )

    def open_request(
        self,
        at: datetime,
        request_id: str,
        request_type: RequestType,
        subject: str,
        department: str | None = None,
    ) -> None:
        """The request.opened event of a request this record starts."""
        self.add(
            EventType.REQUEST_OPENED,
            at,
            RequestOpened(
                request_id=request_id,
                request_type=request_type,
                subject=subject,
                channel=self.channel,
                department=department,
            ),
        )

    def result(self) -> Mapped:
        return Mapped(self.customer_key, list(self.events))


# Provenance of an identifier in a channel record (schemas.keys.Identifier.verified).
VERIFIED = True  # the channel checked it belongs to this person
TYPED = False  # someone typed or said it: no proof whose it is


def identifiers(
    pseudonyms: Pseudonymiser, *given: tuple[IdentifierKind, str | None, bool]
) -> list[Identifier]:
    """Hash every given (kind, raw, verified) once, in the order given; a duplicate is
    verified when any of its sightings is."""
    seen: dict[str, Identifier] = {}
    for kind, raw, verified in given:
        if raw:
            ident = pseudonyms.identifier(kind, raw, verified=verified)
            was = seen.get(ident.hash)
            if was is None or (verified and not was.verified):
                seen[ident.hash] = (
                    ident if was is None else was.model_copy(update={"verified": True})
                )
    return list(seen.values())


def clean(text: str | None, limit: int = 20_000) -> str | None:
    """Free text as it may travel: BSNs redacted, trimmed to the schema's limit."""
    if text is None:
        return None
    cleaned = redact_bsns(text).strip()
    return cleaned[:limit] or None
