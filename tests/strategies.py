"""Hypothesis strategies for the event data models, one strategy per contract field."""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from schemas.events import (
    DATA_MODELS,
    Actor,
    Attachment,
    Audience,
    Channel,
    Direction,
    DocumentKind,
    EventData,
    EventType,
    NotificationKind,
    RequestType,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Identifier

# Printable text, including Dutch diacritics and emoji, never empty.
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)
offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)
identifier = st.builds(
    Identifier,
    kind=st.sampled_from(IdentifierKind),
    hash=st.text("0123456789abcdef", min_size=64, max_size=64),
    masked=text,
)
request_id = st.from_regex(r"\A[A-Za-z0-9._:@-]{1,40}\Z")
iso_duration = st.builds(
    lambda n, unit: f"PT{n}{unit}" if unit in "HS" else f"P{n}{unit}",
    st.integers(1, 99),
    st.sampled_from("YMWDHS"),
)

FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "channel": st.sampled_from(Channel),
    "direction": st.sampled_from(Direction),
    "subject": text,
    "outcome": text,
    "identifiers": st.lists(identifier, min_size=2, max_size=4),
    "summary": text,
    "actor": st.builds(Actor, kind=st.sampled_from(["employee", "system"]), id=text),
    "request_id": request_id,
    "thread_id": text,
    "claimed_date": text,
    "attachments": st.lists(
        st.builds(Attachment, name=text, content_type=text, size=st.integers(0, 10**9)),
        max_size=3,
    ),
    "request_type": st.sampled_from(RequestType),
    "department": text,
    "vulnerable": st.booleans(),
    "note": text,
    "reason": text,
    "extension": iso_duration,
    "document_kind": st.sampled_from(DocumentKind),
    "valid_until": st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    "score": st.integers(1, 5),
    "comment": text,
    "opened_at": aware,
    "due_at": aware,
    "norm": text,
    "detected_at": aware,
    "notification_id": request_id,
    "kind": st.sampled_from(NotificationKind),
    "audience": st.sampled_from(Audience),
    "message": text,
    "trace_id": st.text("0123456789abcdef", min_size=32, max_size=32),
    "span_id": st.text("0123456789abcdef", min_size=16, max_size=16),
    "name": text,
    "endpoint": text,
    "purpose": text,
    "processing_activity": text,
    "staff_subject": text,
    "role": st.sampled_from(["kcc", "department", "regieteam", "auditor", "channel"]),
    "status": st.sampled_from(["ok", "error"]),
}


def event_data(event_type: EventType) -> st.SearchStrategy[EventData]:
    """Valid data for one event type; optional fields are sometimes left out."""
    model = DATA_MODELS[event_type]
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in model.model_fields.items():
        strategy = FIELDS[name]
        optional = not field.is_required() and field.default is None
        kwargs[name] = st.none() | strategy if optional else strategy
    return st.builds(model, **kwargs)


__all__ = ["UTC", "aware", "event_data"]
