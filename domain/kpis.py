"""The KPIs of the four service principles as arithmetic over plain facts (definitions:
docs/kpis.md). Pure: the read model fetches the facts, this counts them.

Each figure is a share with its numerator and denominator (or a count), over requests,
contacts or events whose reference instant lies in [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.clock.norms import Catalogue
from domain.clock.terms import add_term


@dataclass(frozen=True)
class RequestFacts:
    """One request open at some time during the window, as the KPIs need it."""

    request_type: str
    subject: str
    channel: str
    opened_at: datetime
    status: str
    acknowledged_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    interim_update: bool
    """It got an `interim-update` event."""
    outbound_before_answer: bool
    """An outbound contact about it was recorded before its answer (or close)."""


@dataclass(frozen=True)
class KpiFacts:
    """Everything the KPIs of one window count, already fetched."""

    requests: list[RequestFacts]
    escalations: int
    inbound_phone_counter_contacts: int
    resolved_at_first_contact: int
    """Of those: answered or served without opening a request."""
    inbound_customers: int
    repeat_contact_customers: int
    feedback_count: int
    feedback_mean: float | None
    notifications: list[tuple[str, str, int]] = field(default_factory=list)
    """(kind, audience, count), sorted."""


def share(numerator: int, denominator: int) -> dict[str, Any]:
    """A share with its parts; `value` is None when nothing was measured."""
    return {
        "numerator": numerator,
        "denominator": denominator,
        "value": round(numerator / denominator, 4) if denominator else None,
    }


def tally(facts: KpiFacts, catalogue: Catalogue, start: datetime, end: datetime) -> dict[str, Any]:
    """The KPI document of GET /v1/kpis (and the projector's gauges) for [start, end)."""
    acknowledged = [0, 0]
    interim = [0, 0]
    answered: dict[str, list[int]] = {}
    callbacks = [0, 0]
    resolved = [0, 0]
    for r in facts.requests:
        norm = catalogue.lookup(r.request_type, r.subject, r.channel)
        if norm.acknowledge_within and start <= r.opened_at < end:
            due = add_term(catalogue.calendar, r.opened_at, norm.acknowledge_within)
            acknowledged[1] += 1
            acknowledged[0] += bool(r.acknowledged_at and r.acknowledged_at <= due)
        long_open_since = add_term(catalogue.calendar, r.opened_at, norm.interim_every)
        if long_open_since < min(end, r.answered_at or end):
            interim[1] += 1
            interim[0] += r.interim_update or r.outbound_before_answer
        if r.answered_at and start <= r.answered_at < end:
            on_time = bool(r.due_at and r.answered_at <= r.due_at)
            n = answered.setdefault(r.request_type, [0, 0])
            n[1] += 1
            n[0] += on_time
            if r.request_type == "callback":
                callbacks[1] += 1
                callbacks[0] += on_time
        if r.status in ("answered", "resolved") and r.closed_at and start <= r.closed_at < end:
            resolved[1] += 1
            resolved[0] += r.status == "resolved"
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "duidelijk": {
            "acknowledged_within_norm": share(*acknowledged),
            "long_open_with_interim_update": share(*interim),
        },
        "betrouwbaar": {
            "answered_within_norm": {t: share(*n) for t, n in sorted(answered.items())},
        },
        "klant_geholpen": {
            "resolved_of_answered": share(*resolved),
            "escalations": facts.escalations,
        },
        "persoonlijk": {
            "first_contact_resolution": share(
                facts.resolved_at_first_contact, facts.inbound_phone_counter_contacts
            ),
            "repeat_contact_rate": share(facts.repeat_contact_customers, facts.inbound_customers),
            "callbacks_on_time": share(*callbacks),
        },
        "leren": {
            "feedback_count": facts.feedback_count,
            "feedback_mean_score": round(facts.feedback_mean, 2)
            if facts.feedback_mean is not None
            else None,
        },
        "anticiperen": {
            "notifications": [
                {"kind": kind, "audience": audience, "count": count}
                for kind, audience, count in facts.notifications
            ]
        },
    }
