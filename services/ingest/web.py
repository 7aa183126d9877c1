"""Form-platform submission → events: a contact, a request, and every identity it carries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events import (
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
    Email,
    EventBuilder,
    FreeText,
    Instant,
    Kvk,
    Mapped,
    Payload,
    Phone,
    ShortText,
    SourceId,
    clean,
    identifiers,
    request_id_for,
)


class DigiD(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    method: Literal["digid"]
    bsn: Bsn


class EHerkenning(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    method: Literal["eherkenning"]
    kvk: Kvk


class ContactDetails(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: Email | None = None
    phone: Phone | None = None


class WebSubmission(Payload):
    """The form platform's webhook for one submitted form."""

    submission_id: SourceId
    form: ShortText
    submitted_at: Instant
    auth: Annotated[DigiD | EHerkenning, Field(discriminator="method")] | None = None
    contact: ContactDetails = ContactDetails()
    subject: ShortText
    message: FreeText = ""
    request_type: RequestType

    @model_validator(mode="after")
    def _someone_to_identify(self) -> WebSubmission:
        if self.auth is None and not (self.contact.email or self.contact.phone):
            raise ValueError(
                "contact: an anonymous submission needs contact.email or contact.phone"
            )
        return self


def map_web_submission(form: WebSubmission, pseudonyms: Pseudonymiser) -> Mapped:
    """All identifiers travel on the contact: that is how web links to phone, counter, mail.

    The login's BSN or KvK is verified; the contact e-mail and phone are typed into the form,
    so no proof that they are the signed-in person's (anyone can type anyone's address)."""
    idents = identifiers(
        pseudonyms,
        (IdentifierKind.BSN, form.auth.bsn if isinstance(form.auth, DigiD) else None, VERIFIED),
        (
            IdentifierKind.KVK,
            form.auth.kvk if isinstance(form.auth, EHerkenning) else None,
            VERIFIED,
        ),
        (IdentifierKind.EMAIL, form.contact.email, TYPED),
        (IdentifierKind.PHONE, form.contact.phone, TYPED),
    )
    events = EventBuilder(Channel.WEB, form.submission_id, idents)
    request_id = request_id_for(Channel.WEB, form.submission_id)
    subject = clean(form.subject, 500) or form.form
    events.add(
        EventType.CONTACT_RECORDED,
        form.submitted_at,
        ContactRecorded(
            channel=Channel.WEB,
            direction=Direction.INBOUND,
            subject=subject,
            outcome="submitted",
            identifiers=idents,
            summary=clean(form.message),
            request_id=request_id,
        ),
    )
    events.open_request(form.submitted_at, request_id, form.request_type, subject, form.form)
    return events.result()
