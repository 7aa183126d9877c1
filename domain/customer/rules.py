"""Proactive rules about a customer rather than one request (pure): repeated contact on
one subject, and documents that are about to expire."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from domain.clock.calendar import AMSTERDAM
from domain.clock.requests import notification
from domain.clock.state import DocumentClock
from domain.messages import DOCUMENTS, text
from schemas.envelope import Envelope
from schemas.events import Audience, DocumentIssued, NotificationKind

REPEAT_WINDOW = timedelta(days=14)
REPEAT_COUNT = 3
DOCUMENT_NOTICE = timedelta(weeks=6)


def repeat_contact(
    state: dict[str, Any], customer: str, subject: str, at: datetime
) -> tuple[dict[str, Any], list[Envelope]]:
    """≥ 3 inbound contacts on one subject within 14 days, none of its requests resolved."""
    topic = subject.strip().lower()
    since = at - REPEAT_WINDOW
    log = [[s, t] for s, t in state.get("inbound_log", []) if datetime.fromisoformat(t) >= since]
    log.append([topic, at.isoformat()])
    state = {**state, "inbound_log": log[-200:]}
    same = [t for s, t in log if s == topic]
    resolved = state.get("resolved_subjects", {}).get(topic)
    notified = state.get("repeat_notified", {}).get(topic)
    if (
        len(same) < REPEAT_COUNT
        or (resolved and datetime.fromisoformat(resolved) >= since)
        or (notified and datetime.fromisoformat(notified) >= since)
    ):
        return state, []
    state["repeat_notified"] = {**state.get("repeat_notified", {}), topic: at.isoformat()}
    message = text("repeat-contact", "staff", count=str(len(same)), subject=subject)
    return state, [
        notification(
            customer,
            NotificationKind.REPEAT_CONTACT,
            Audience.STAFF,
            f"{customer}|{topic}|{min(same)}",
            at,
            message,
        )
    ]


def note_resolved(state: dict[str, Any], subject: str, at: datetime) -> dict[str, Any]:
    """A resolved request on a subject stops repeat-contact notices about it for 14 days."""
    resolved = {**state.get("resolved_subjects", {}), subject.strip().lower(): at.isoformat()}
    return {**state, "resolved_subjects": resolved}


def document_notice_at(valid_until: date) -> datetime:
    """The start of the day six weeks before the document expires (Amsterdam time)."""
    return datetime.combine(valid_until - DOCUMENT_NOTICE, datetime.min.time(), AMSTERDAM)


def document_issued(customer: str, data: DocumentIssued, born: int) -> DocumentClock:
    """The clock of a newly issued document, begun at offset `born` of the customer's
    partition."""
    return DocumentClock(customer, data.document_kind.value, data.valid_until, born=born)


def document_next_instant(doc: DocumentClock) -> datetime | None:
    """When the document next needs the clock (None: the notice went out)."""
    return None if doc.emitted else document_notice_at(doc.valid_until)


def document_expiring(
    doc: DocumentClock, now: datetime, channel: str | None
) -> tuple[DocumentClock, list[Envelope]]:
    """Tell the customer, once, when a document is within six weeks of expiring."""
    valid_until = doc.valid_until
    if doc.emitted or now < document_notice_at(valid_until):
        return doc, []
    message = text(
        "document-expiring",
        "customer",
        document=DOCUMENTS.get(doc.kind, doc.kind),
        valid_until=valid_until.strftime("%d-%m-%Y"),
    )
    return replace(doc, emitted=True), [
        notification(
            doc.customer,
            NotificationKind.DOCUMENT_EXPIRING,
            Audience.CUSTOMER,
            f"{doc.customer}|{doc.kind}|{valid_until.isoformat()}",
            now,
            message,
            channel=channel,
        )
    ]
