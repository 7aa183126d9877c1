"""The `data` of every event type of the CloudEvents envelope, as pydantic v2 models."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from schemas.keys import Identifier
from schemas.sealed import PersonalLongText, PersonalText

PREFIX = "nl.contactmoment."


class EventType(StrEnum):
    """Every CloudEvent `type` of the contract; the suffix is the schema version."""

    CONTACT_RECORDED = PREFIX + "contact.recorded.v1"
    REQUEST_OPENED = PREFIX + "request.opened.v1"
    REQUEST_ACKNOWLEDGED = PREFIX + "request.acknowledged.v1"
    REQUEST_INTERIM_UPDATE = PREFIX + "request.interim-update.v1"
    REQUEST_ANSWERED = PREFIX + "request.answered.v1"
    REQUEST_RESOLVED = PREFIX + "request.resolved.v1"
    REQUEST_REOPENED = PREFIX + "request.reopened.v1"
    REQUEST_SUSPENDED = PREFIX + "request.suspended.v1"
    REQUEST_RESUMED = PREFIX + "request.resumed.v1"
    REQUEST_EXTENDED = PREFIX + "request.extended.v1"
    REQUEST_WITHDRAWN = PREFIX + "request.withdrawn.v1"
    CUSTOMER_LINKED = PREFIX + "customer.linked.v1"
    DOCUMENT_ISSUED = PREFIX + "document.issued.v1"
    FEEDBACK_GIVEN = PREFIX + "feedback.given.v1"
    DEADLINE_WARNING = PREFIX + "deadline.warning.v1"
    DEADLINE_BREACHED = PREFIX + "deadline.breached.v1"
    DEADLINE_ESCALATED = PREFIX + "deadline.escalated.v1"
    DEADLINE_MET_LATE = PREFIX + "deadline.met-late.v1"
    NOTIFICATION = PREFIX + "notification.v1"
    ACCESS_LOGGED = PREFIX + "access.logged.v1"
    CUSTOMER_ERASED = PREFIX + "customer.erased.v1"


class Channel(StrEnum):
    PHONE = "phone"
    COUNTER = "counter"
    WEB = "web"
    EMAIL = "email"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class RequestType(StrEnum):
    QUESTION = "question"
    CALLBACK = "callback"
    COMPLAINT = "complaint"
    APPLICATION = "application"
    REPORT = "report"


class DocumentKind(StrEnum):
    PASSPORT = "passport"
    ID_CARD = "id-card"
    DRIVING_LICENCE = "driving-licence"


class NotificationKind(StrEnum):
    INTERIM_UPDATE_DUE = "interim-update-due"
    CALLBACK_MISSED = "callback-missed"
    DEADLINE_BREACHED = "deadline-breached"
    REPEAT_CONTACT = "repeat-contact"
    DOCUMENT_EXPIRING = "document-expiring"
    FEEDBACK_REQUEST = "feedback-request"


class Audience(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    REGIETEAM = "regieteam"


# ISO 8601 duration (calendar time): P4W, P1Y2M10D, PT30S, P2DT4H …
_ISO_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)


def _iso_duration(value: str) -> str:
    if not _ISO_DURATION.match(value):
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P4W or PT30S")
    return value


IsoDuration = Annotated[
    str,
    AfterValidator(_iso_duration),
    Field(json_schema_extra={"pattern": _ISO_DURATION.pattern}, examples=["P4W", "PT30S"]),
]
RequestId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(max_length=20_000)]


class EventData(BaseModel):
    """Base of every `data` model: immutable, and unknown fields are an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(BaseModel):
    """Who acted for the municipality (an agent, a desk clerk, a system)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Annotated[str, Field(pattern=r"^(employee|system|customer)$")]
    id: Text
    department: Text | None = None


class Attachment(BaseModel):
    """An e-mail attachment as listed (never stored): name, media type and size."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(max_length=500)]
    content_type: Annotated[str, Field(max_length=200)]
    size: Annotated[int, Field(ge=0)]


class ContactRecorded(EventData):
    channel: Channel
    direction: Direction
    subject: Text
    outcome: Text
    identifiers: Annotated[list[Identifier], Field(min_length=1)]
    summary: PersonalLongText | None = None
    actor: Actor | None = None
    request_id: RequestId | None = None
    thread_id: Annotated[str, Field(max_length=998)] | None = None
    attachments: list[Attachment] | None = None
    # An e-mail's Date header when it was not believed (too far from the time received, or
    # unreadable): the event's time is then the time received, and the claim is kept here.
    claimed_date: Annotated[str, Field(max_length=200)] | None = None


class RequestOpened(EventData):
    request_id: RequestId
    request_type: RequestType
    subject: Text
    channel: Channel
    department: Text | None = None
    vulnerable: bool = False


class RequestRef(EventData):
    """Data of the lifecycle events of a request: which request, and who acted."""

    request_id: RequestId
    actor: Actor | None = None


class RequestAcknowledged(RequestRef):
    pass


class RequestInterimUpdate(RequestRef):
    note: PersonalLongText | None = None


class RequestAnswered(RequestRef):
    pass


class RequestResolved(RequestRef):
    """The customer confirmed they were helped."""


class RequestReopened(RequestRef):
    reason: PersonalText


class RequestSuspended(RequestRef):
    """Awb 4:15: waiting for the customer stops the clock."""


class RequestResumed(RequestRef):
    pass


class RequestExtended(RequestRef):
    extension: IsoDuration


class RequestWithdrawn(RequestRef):
    pass


class CustomerLinked(EventData):
    identifiers: Annotated[list[Identifier], Field(min_length=2)]


class DocumentIssued(EventData):
    document_kind: DocumentKind
    valid_until: date


class FeedbackGiven(RequestRef):
    score: Annotated[int, Field(ge=1, le=5)]
    comment: PersonalLongText | None = None


class DeadlineSignal(EventData):
    """A transition of a request's clock (warning, escalation, late answer)."""

    request_id: RequestId
    request_type: RequestType
    department: Text | None = None  # a request need not have one; encoded without it
    opened_at: AwareDatetime
    due_at: AwareDatetime
    norm: Text
    detected_at: AwareDatetime | None = None


class DeadlineBreached(DeadlineSignal):
    detected_at: AwareDatetime


class Notification(EventData):
    notification_id: Annotated[str, Field(min_length=1, max_length=200)]
    kind: NotificationKind
    audience: Audience
    channel: Channel | None = None
    request_id: RequestId | None = None
    message: Annotated[str, Field(min_length=1, max_length=2000)]


class CustomerErased(EventData):
    """The customer (this key) was erased on request: the stream processors forget what
    they hold of its earlier history and send nothing more about it (docs/privacy.md)."""


# Staff roles (services/api/policy.py says what each may read).
STAFF_ROLES = ("kcc", "department", "regieteam", "auditor", "channel")


class AccessLogged(EventData):
    """One read of a customer's personal data by staff (the access log; docs/privacy.md).

    Modelled on the Logboek Dataverwerkingen: a trace/span per action, the processing
    activity and purpose, the data subject by pseudonymous key; the staff member's own
    identity is kept for the auditor only and never shown to the resident.
    """

    trace_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    span_id: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    name: Text
    endpoint: Text
    purpose: Text
    processing_activity: Text | None = None
    staff_subject: Text
    role: Annotated[str, Field(pattern="^(" + "|".join(STAFF_ROLES) + ")$")]
    department: Text | None = None
    status: Annotated[str, Field(pattern=r"^(ok|error)$")] = "ok"


DATA_MODELS: dict[EventType, type[EventData]] = {
    EventType.CONTACT_RECORDED: ContactRecorded,
    EventType.REQUEST_OPENED: RequestOpened,
    EventType.REQUEST_ACKNOWLEDGED: RequestAcknowledged,
    EventType.REQUEST_INTERIM_UPDATE: RequestInterimUpdate,
    EventType.REQUEST_ANSWERED: RequestAnswered,
    EventType.REQUEST_RESOLVED: RequestResolved,
    EventType.REQUEST_REOPENED: RequestReopened,
    EventType.REQUEST_SUSPENDED: RequestSuspended,
    EventType.REQUEST_RESUMED: RequestResumed,
    EventType.REQUEST_EXTENDED: RequestExtended,
    EventType.REQUEST_WITHDRAWN: RequestWithdrawn,
    EventType.CUSTOMER_LINKED: CustomerLinked,
    EventType.DOCUMENT_ISSUED: DocumentIssued,
    EventType.FEEDBACK_GIVEN: FeedbackGiven,
    EventType.DEADLINE_WARNING: DeadlineSignal,
    EventType.DEADLINE_BREACHED: DeadlineBreached,
    EventType.DEADLINE_ESCALATED: DeadlineSignal,
    EventType.DEADLINE_MET_LATE: DeadlineSignal,
    EventType.NOTIFICATION: Notification,
    EventType.ACCESS_LOGGED: AccessLogged,
    EventType.CUSTOMER_ERASED: CustomerErased,
}

# Which topic each type travels on: inputs on contact.events.v1, deadline signals on
# contact.signals.v1, notifications on contact.notifications.v1.
INPUT_TYPES = frozenset(list(EventType)[:14]) | {EventType.CUSTOMER_ERASED}
SIGNAL_TYPES = frozenset(
    {
        EventType.DEADLINE_WARNING,
        EventType.DEADLINE_BREACHED,
        EventType.DEADLINE_ESCALATED,
        EventType.DEADLINE_MET_LATE,
    }
)
NOTIFICATION_TYPES = frozenset({EventType.NOTIFICATION})
ACCESS_TYPES = frozenset({EventType.ACCESS_LOGGED})
