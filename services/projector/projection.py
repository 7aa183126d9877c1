"""What a batch of events changes in the read model: pure, no database here.

The plan is columnar — rows per table, per-customer counter deltas, and request state
transitions in event order — so the store can write each table with one statement.
Inserts are idempotent and order-free, counters are additive, and transitions are guarded
(a repeated or late transition cannot corrupt a request) and run in event order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from schemas.envelope import Envelope
from schemas.events import (
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

Row = tuple[Any, ...]


@dataclass
class CustomerDelta:
    contacts: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    inbound: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, channel: str, inbound: bool, at: datetime) -> None:
        self.contacts += 1
        self.channels[channel] += 1
        if inbound:
            self.inbound[channel] += 1
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
    transitions: list[tuple[str, Row]] = field(default_factory=list)


# Request state transitions: (new status, the statuses it may come from, timestamp column).
TRANSITIONS: dict[EventType, tuple[str, tuple[str, ...], str | None]] = {
    EventType.REQUEST_ANSWERED: ("answered", ("open", "suspended"), "answered_at"),
    EventType.REQUEST_RESOLVED: ("resolved", ("open", "suspended", "answered"), "closed_at"),
    EventType.REQUEST_WITHDRAWN: ("withdrawn", ("open", "suspended", "answered"), "closed_at"),
    EventType.REQUEST_REOPENED: ("open", ("answered", "resolved", "withdrawn"), None),
    EventType.REQUEST_SUSPENDED: ("suspended", ("open",), None),
    EventType.REQUEST_RESUMED: ("open", ("suspended",), None),
}
LIFECYCLE = frozenset(
    {
        EventType.REQUEST_ACKNOWLEDGED,
        EventType.REQUEST_INTERIM_UPDATE,
        *TRANSITIONS,
        EventType.REQUEST_EXTENDED,
        EventType.FEEDBACK_GIVEN,
    }
)

ACKNOWLEDGE = (
    "UPDATE requests SET acknowledged_at = COALESCE(acknowledged_at, $2),"
    " updated_at = GREATEST(updated_at, $2) WHERE request_id = $1"
)


def transition_sql(event_type: EventType) -> str:
    _, _, column = TRANSITIONS[event_type]
    sets = ["status = $2", "updated_at = GREATEST(updated_at, $3)"]
    if column == "answered_at":
        sets += ["answered_at = $3", "closed_at = $3"]
    elif column == "closed_at":
        sets.append("closed_at = $3")
    if event_type is EventType.REQUEST_REOPENED:
        sets += ["answered_at = NULL", "closed_at = NULL"]
    return (
        f"UPDATE requests SET {', '.join(sets)}"  # noqa: S608 - fixed column names only
        " WHERE request_id = $1 AND status = ANY($4::text[])"
    )


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
        if seen is None or at < seen[4]:
            plan.identifiers[(key, ident.hash)] = (
                key,
                ident.hash,
                ident.kind.value,
                ident.masked,
                at,
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
    elif isinstance(data, CustomerLinked):
        _timeline(plan, event)
        _identifiers(plan, event.subject, data.identifiers, event.time)
    elif isinstance(data, RequestRef) and event.type in LIFECYCLE:
        _timeline(plan, event, request_id=data.request_id)
        _history(plan, event, data.request_id)
        if event.type is EventType.REQUEST_ACKNOWLEDGED:
            plan.transitions.append((ACKNOWLEDGE, (data.request_id, event.time)))
        elif event.type in TRANSITIONS:
            status, allowed, _ = TRANSITIONS[event.type]
            plan.transitions.append(
                (transition_sql(event.type), (data.request_id, status, event.time, list(allowed)))
            )
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
