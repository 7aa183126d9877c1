"""What a batch of events changes in the read model: pure, no database here.

The plan is columnar — rows per table and per-customer counter deltas — so the store can
write each table with one statement. Inserts are idempotent and order-free and counters are
additive; a request's status and times are not planned here but folded from its whole
history by `lifecycle.refresh` after the writes, so the order events arrive in does not matter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.clock.terms import STEP_OF
from schemas.envelope import Envelope
from schemas.events import (
    AccessLogged,
    ContactRecorded,
    CustomerLinked,
    DeadlineSignal,
    Direction,
    DocumentIssued,
    EventType,
    Notification,
    RequestOpened,
    RequestRef,
)
from schemas.keys import Identifier
from schemas.sealed import ERASED

Row = tuple[Any, ...]


@dataclass
class CustomerDelta:
    contacts: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    inbound: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    last_inbound: datetime | None = None

    def add(self, channel: str, inbound: bool, at: datetime) -> None:
        self.contacts += 1
        self.channels[channel] += 1
        if inbound:
            self.inbound[channel] += 1
            self.last_inbound = at if self.last_inbound is None else max(self.last_inbound, at)
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)


@dataclass
class Plan:
    """Everything one batch writes; each list is rows of one table, in column order."""

    timeline: list[Row] = field(default_factory=list)
    identifiers: dict[tuple[str, str], Row] = field(default_factory=dict)
    customers: dict[str, CustomerDelta] = field(default_factory=dict)
    requests: list[Row] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)
    signals: list[Row] = field(default_factory=list)
    notifications: list[Row] = field(default_factory=list)
    access: list[Row] = field(default_factory=list)


# Events that belong in a request's history: every clock step but the opening, and feedback.
LIFECYCLE = frozenset(STEP_OF) - {EventType.REQUEST_OPENED} | {EventType.FEEDBACK_GIVEN}


def _data(event: Envelope) -> str:
    return event.data.model_dump_json(exclude_none=True)


def _timeline(plan: Plan, event: Envelope, **c: Any) -> None:
    plan.timeline.append(
        (
            UUID(event.id),
            event.subject,
            event.time,
            event.type.value,
            c.get("channel"),
            c.get("direction"),
            c.get("subject"),
            c.get("outcome"),
            c.get("request_id"),
            c.get("summary"),
            _data(event),
        )
    )


def _identifiers(plan: Plan, key: str, idents: list[Identifier], at: datetime) -> None:
    for ident in idents:
        seen = plan.identifiers.get((key, ident.hash))
        first, masked = (at, ident.masked) if seen is None else (min(at, seen[4]), seen[3])
        if masked == ERASED:  # one identifier has one display: a readable one wins over one
            masked = ident.masked  # past its retention (as the store's upsert does)
        # verified once (by any event) is verified, as the store's upsert does
        verified = ident.verified or (seen is not None and bool(seen[5]))
        plan.identifiers[(key, ident.hash)] = (
            key,
            ident.hash,
            ident.kind.value,
            masked,
            first,
            verified,
        )


def add(plan: Plan, event: Envelope) -> None:
    """Fold one event into the batch plan."""
    data = event.data
    if isinstance(data, ContactRecorded):
        _timeline(
            plan,
            event,
            channel=data.channel.value,
            direction=data.direction.value,
            subject=data.subject,
            outcome=data.outcome,
            request_id=data.request_id,
            summary=data.summary,
        )
        _identifiers(plan, event.subject, data.identifiers, event.time)
        plan.customers.setdefault(event.subject, CustomerDelta()).add(
            data.channel.value, data.direction is Direction.INBOUND, event.time
        )
    elif isinstance(data, RequestOpened):
        _timeline(
            plan,
            event,
            channel=data.channel.value,
            subject=data.subject,
            request_id=data.request_id,
            outcome=data.request_type.value,
        )
        plan.requests.append(
            (
                data.request_id,
                event.subject,
                data.request_type.value,
                data.subject,
                data.channel.value,
                data.department,
                data.vulnerable,
                event.time,
            )
        )
        _history(plan, event, data.request_id)
    elif isinstance(data, DeadlineSignal):
        plan.signals.append(
            (
                UUID(event.id),
                data.request_id,
                event.subject,
                event.type.value,
                event.time,
                data.due_at,
                data.detected_at,
                _data(event),
            )
        )
    elif isinstance(data, Notification):
        plan.notifications.append(
            (
                UUID(event.id),
                data.notification_id,
                event.subject,
                data.kind.value,
                data.audience.value,
                data.channel.value if data.channel else None,
                data.request_id,
                data.message,
                event.time,
            )
        )
    elif event.type is EventType.CUSTOMER_ERASED:
        pass  # the erasure itself purged the read model; nothing to show of it
    elif isinstance(data, AccessLogged):
        plan.access.append(
            (
                UUID(event.id),
                event.time,
                event.subject,
                data.trace_id,
                data.span_id,
                data.name,
                data.endpoint,
                data.purpose,
                data.processing_activity,
                data.staff_subject,
                data.role,
                data.department,
            )
        )
    elif isinstance(data, CustomerLinked):
        _timeline(plan, event)
        _identifiers(plan, event.subject, data.identifiers, event.time)
    elif isinstance(data, RequestRef) and event.type in LIFECYCLE:
        _timeline(plan, event, request_id=data.request_id)
        _history(plan, event, data.request_id)  # status and times: folded by the store
    elif isinstance(data, DocumentIssued):
        _timeline(
            plan,
            event,
            subject=data.document_kind.value,
            outcome=f"geldig tot {data.valid_until:%d-%m-%Y}",
        )
    else:  # feedback without a request, and whatever else concerns the customer
        _timeline(plan, event)


def _history(plan: Plan, event: Envelope, request_id: str) -> None:
    plan.history.append(
        (UUID(event.id), request_id, event.subject, event.type.value, event.time, _data(event))
    )


def plan_batch(events: list[Envelope]) -> Plan:
    plan = Plan()
    for event in events:
        add(plan, event)
    return plan
