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


@dataclass(frozen=True)
class KpiCounts:
    """The counted parts of every KPI of one window, however they were counted."""

    acknowledged: tuple[int, int]
    long_open: tuple[int, int]
    answered: dict[str, tuple[int, int]]
    """Per request type; a type is listed when a request of it was answered."""
    resolved: tuple[int, int]
    escalations: int
    first_contact: tuple[int, int]
    repeat_contact: tuple[int, int]
    feedback_count: int
    feedback_mean: float | None
    notifications: list[tuple[str, str, int]]
    """(kind, audience, count), sorted."""


def tally(facts: KpiFacts, catalogue: Catalogue, start: datetime, end: datetime) -> dict[str, Any]:
    """The KPI document of [start, end) counted from scratch over the window's facts (the
    reference the incremental aggregates are checked against: domain/kpi_contributions.py)."""
    return document(count(facts, catalogue, start, end), start, end)


def count(facts: KpiFacts, catalogue: Catalogue, start: datetime, end: datetime) -> KpiCounts:
    """Count the window's facts."""
    acknowledged = [0, 0]
    interim = [0, 0]
    answered: dict[str, list[int]] = {}
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
            n = answered.setdefault(r.request_type, [0, 0])
            n[1] += 1
            n[0] += bool(r.due_at and r.answered_at <= r.due_at)
        if r.status in ("answered", "resolved") and r.closed_at and start <= r.closed_at < end:
            resolved[1] += 1
            resolved[0] += r.status == "resolved"
    return KpiCounts(
        acknowledged=(acknowledged[0], acknowledged[1]),
        long_open=(interim[0], interim[1]),
        answered={t: (n[0], n[1]) for t, n in answered.items()},
        resolved=(resolved[0], resolved[1]),
        escalations=facts.escalations,
        first_contact=(facts.resolved_at_first_contact, facts.inbound_phone_counter_contacts),
        repeat_contact=(facts.repeat_contact_customers, facts.inbound_customers),
        feedback_count=facts.feedback_count,
        feedback_mean=facts.feedback_mean,
        notifications=facts.notifications,
    )


def document(counts: KpiCounts, start: datetime, end: datetime) -> dict[str, Any]:
    """The KPI document of GET /v1/kpis (and the projector's gauges) for [start, end)."""
    callbacks = counts.answered.get("callback", (0, 0))
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "duidelijk": {
            "acknowledged_within_norm": share(*counts.acknowledged),
            "long_open_with_interim_update": share(*counts.long_open),
        },
        "betrouwbaar": {
            "answered_within_norm": {t: share(*n) for t, n in sorted(counts.answered.items())},
        },
        "klant_geholpen": {
            "resolved_of_answered": share(*counts.resolved),
            "escalations": counts.escalations,
        },
        "persoonlijk": {
            "first_contact_resolution": share(*counts.first_contact),
            "repeat_contact_rate": share(*counts.repeat_contact),
            "callbacks_on_time": share(*callbacks),
        },
        "leren": {
            "feedback_count": counts.feedback_count,
            "feedback_mean_score": round(counts.feedback_mean, 2)
            if counts.feedback_mean is not None
            else None,
        },
        "anticiperen": {
            "notifications": [
                {"kind": kind, "audience": audience, "count": n}
                for kind, audience, n in counts.notifications
            ]
        },
    }
