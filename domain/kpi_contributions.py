"""What one request or one event adds to the KPIs (definitions: docs/kpis.md), as rows at a
reference instant that can be summed per day and per window.

Pure: the read model keeps each source's current rows and their daily sums
(services/readmodel/kpi_store.py); summing the rows whose instant lies in [start, end)
gives exactly what `domain.kpis.tally` counts from scratch for that window, except for the
long-open KPI, which is "open during the window" (see LONG_OPEN below).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.clock.norms import Catalogue
from domain.clock.terms import add_term
from domain.kpis import RequestFacts

ACKNOWLEDGED = "acknowledged"
"""Complaints (norms with an acknowledgement term) at opening; numerator: in time."""
ANSWERED = "answered"
"""Per request type (key) at the answer; numerator: at or before the due instant."""
RESOLVED = "resolved"
"""Closed as answered or resolved, at the close; numerator: resolved."""
LONG_OPEN = "long_open"
"""A request unanswered `interim_every` after opening, at the instant it became so
(numerator: it got an interim update or an outbound contact before its answer). It counts
in every window it is open during: with P that instant and C its close,
#(P < end) - #(C < start), so its close is a row of its own:"""
LONG_OPEN_CLOSED = "long_open_closed"
"""The close of a LONG_OPEN request (closed at or after it became long-open)."""
LONG_OPEN_BRIEF = "long_open_brief"
"""A request closed unanswered before it would have become long-open: it counts in a window
[start, end) only when start <= close and the would-be instant (`until`) < end, so it is
not summed per day but read as it is (few: such requests are withdrawn early)."""
ESCALATIONS = "escalations"
FIRST_CONTACT = "first_contact"
"""Inbound phone and counter contacts; numerator: answered or served without a request."""
FEEDBACK = "feedback"
"""Feedback events; numerator: the sum of their scores."""
NOTIFICATIONS = "notifications"
"""Proactive notifications per kind and audience (key: `kind<US>audience`)."""

REQUEST_METRICS = (ACKNOWLEDGED, ANSWERED, RESOLVED, LONG_OPEN, LONG_OPEN_CLOSED, LONG_OPEN_BRIEF)
KEY_SEPARATOR = "\x1f"
INBOUND_CONTACT = "nl.contactmoment.contact.recorded.v1"
FEEDBACK_GIVEN = "nl.contactmoment.feedback.given.v1"
ESCALATED = "nl.contactmoment.deadline.escalated.v1"


@dataclass(frozen=True, order=True)
class Contribution:
    """One source's part of one metric."""

    metric: str
    key: str
    at: datetime
    numerator: int
    denominator: int
    until: datetime | None = None


def request_contributions(r: RequestFacts, catalogue: Catalogue) -> list[Contribution]:
    """Everything one request adds, from its current facts (recomputed when they change)."""
    norm = catalogue.lookup(r.request_type, r.subject, r.channel)
    rows: list[Contribution] = []
    if norm.acknowledge_within:
        due = add_term(catalogue.calendar, r.opened_at, norm.acknowledge_within)
        on_time = bool(r.acknowledged_at and r.acknowledged_at <= due)
        rows.append(Contribution(ACKNOWLEDGED, "", r.opened_at, int(on_time), 1))
    long_open_since = add_term(catalogue.calendar, r.opened_at, norm.interim_every)
    if r.answered_at is None or long_open_since < r.answered_at:
        # From scratch, a request counts when it is opened before the window's end, closed
        # (if at all) at or after its start, and long-open before min(end, answer).
        since = max(long_open_since, r.opened_at)
        updated = int(r.interim_update or r.outbound_before_answer)
        if r.closed_at is None or r.closed_at >= since:
            rows.append(Contribution(LONG_OPEN, "", since, updated, 1))
            if r.closed_at is not None:
                rows.append(Contribution(LONG_OPEN_CLOSED, "", r.closed_at, updated, 1))
        else:
            rows.append(Contribution(LONG_OPEN_BRIEF, "", r.closed_at, updated, 1, until=since))
    if r.answered_at is not None:
        on_time = bool(r.due_at and r.answered_at <= r.due_at)
        rows.append(Contribution(ANSWERED, r.request_type, r.answered_at, int(on_time), 1))
    if r.status in ("answered", "resolved") and r.closed_at is not None:
        rows.append(Contribution(RESOLVED, "", r.closed_at, int(r.status == "resolved"), 1))
    return rows


def timeline_contribution(
    event_type: str,
    occurred_at: datetime,
    channel: str | None,
    direction: str | None,
    outcome: str | None,
    request_id: str | None,
    score: int | None,
) -> Contribution | None:
    """What one timeline row adds (a contact to first-contact resolution, a feedback)."""
    if event_type == INBOUND_CONTACT and direction == "inbound" and channel in ("phone", "counter"):
        first = request_id is None and outcome in ("answered", "served")
        return Contribution(FIRST_CONTACT, "", occurred_at, int(first), 1)
    if event_type == FEEDBACK_GIVEN and score is not None:
        return Contribution(FEEDBACK, "", occurred_at, score, 1)
    return None


def signal_contribution(event_type: str, occurred_at: datetime) -> Contribution | None:
    """An escalation signal counts; the other signals do not."""
    if event_type == ESCALATED:
        return Contribution(ESCALATIONS, "", occurred_at, 0, 1)
    return None


def notification_contribution(kind: str, audience: str, occurred_at: datetime) -> Contribution:
    return Contribution(NOTIFICATIONS, notification_key(kind, audience), occurred_at, 0, 1)


def notification_key(kind: str, audience: str) -> str:
    return f"{kind}{KEY_SEPARATOR}{audience}"


def split_notification_key(key: str) -> tuple[str, str]:
    kind, _, audience = key.partition(KEY_SEPARATOR)
    return kind, audience
