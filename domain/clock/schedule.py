"""A request's clock: due, warning, escalation and interim-update instants from its norm
and its history. Pure: the calendar and the history come in, instants go out.

- opened / reopened: a fresh term starts (a reopened request gets a full new term);
- suspended: the clock stops (Awb 4:15); resumed: the remaining term continues;
- extended: the deadline moves by the extension (calendar time);
- answered / resolved / withdrawn: the clock ends;
- acknowledged, interim updates and outbound contacts reset the interim-update timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.clock.calendar import IsoDuration, WorkCalendar
from domain.clock.norms import Norm, Term
from schemas.events import EventType

OPEN, SUSPENDED, CLOSED = "open", "suspended", "closed"
STEP_OF: dict[EventType, str] = {
    EventType.REQUEST_OPENED: "opened",
    EventType.REQUEST_ACKNOWLEDGED: "acknowledged",
    EventType.REQUEST_INTERIM_UPDATE: "interim-update",
    EventType.REQUEST_ANSWERED: "answered",
    EventType.REQUEST_RESOLVED: "resolved",
    EventType.REQUEST_REOPENED: "reopened",
    EventType.REQUEST_SUSPENDED: "suspended",
    EventType.REQUEST_RESUMED: "resumed",
    EventType.REQUEST_EXTENDED: "extended",
    EventType.REQUEST_WITHDRAWN: "withdrawn",
}
"""The clock step each request event is (outbound contacts are the one other kind)."""
CLOSING = ("answered", "resolved", "withdrawn")
TOUCHING = ("acknowledged", "interim-update", "outbound")


@dataclass(frozen=True)
class Step:
    """One thing that happened to a request, as the clock needs it."""

    kind: str  # opened, reopened, suspended, resumed, extended, answered, resolved,
    #            withdrawn, acknowledged, interim-update, outbound
    at: datetime
    extension: str | None = None


@dataclass(frozen=True)
class Schedule:
    status: str
    opened_at: datetime
    due_at: datetime | None  # None while suspended: the clock is stopped
    warn_at: datetime | None
    escalate_at: datetime | None
    interim_due_at: datetime | None
    acknowledge_due_at: datetime | None
    closed_at: datetime | None


def add_term(
    calendar: WorkCalendar, start: datetime, term: Term, fraction: float = 1.0
) -> datetime:
    if term.is_work_time:
        return calendar.add_work_seconds(start, term.work_seconds(calendar) * fraction)
    assert term.duration is not None
    end = calendar.add_calendar(start, term.duration)
    if fraction == 1.0:
        return end
    return start + (end - start) * fraction


class _Running:
    """The remaining term while the clock is stopped, in the term's own measure."""

    def __init__(self, calendar: WorkCalendar, term: Term) -> None:
        self.calendar, self.term = calendar, term

    def remaining(self, at: datetime, target: datetime) -> float:
        if self.term.is_work_time:
            return self.calendar.work_seconds_between(at, target)
        return max(0.0, (target - at).total_seconds())

    def resume(self, at: datetime, remaining: float, final: bool) -> datetime:
        if self.term.is_work_time:
            return self.calendar.add_work_seconds(at, remaining)
        end = at + timedelta(seconds=remaining)
        if final and self.term.duration and self.term.duration.has_days:
            return self.calendar.add_calendar(end, IsoDuration())  # Atw: closed day → next
        return end


def schedule(norm: Norm, calendar: WorkCalendar, steps: list[Step]) -> Schedule:
    """Fold the request's history (in time order) into its current schedule."""
    if not steps or steps[0].kind != "opened":
        raise ValueError("a request's history starts with 'opened'")
    clock = _Running(calendar, norm.term)
    opened = steps[0].at
    status, due, warn = OPEN, None, None
    frozen_due = frozen_warn = 0.0
    pending_extensions: list[IsoDuration] = []
    last_touch = opened
    acknowledged = closed_at = None
    for step in steps:
        if step.kind in ("opened", "reopened"):
            status, closed_at, last_touch = OPEN, None, step.at
            due = add_term(calendar, step.at, norm.term)
            warn = add_term(calendar, step.at, norm.term, norm.warn_at)
        elif step.kind == "suspended" and status == OPEN and due and warn:
            frozen_due = clock.remaining(step.at, due)
            frozen_warn = clock.remaining(step.at, warn)
            status, due, warn = SUSPENDED, None, None
        elif step.kind == "resumed" and status == SUSPENDED:
            status = OPEN
            due = clock.resume(step.at, frozen_due, final=True)
            warn = clock.resume(step.at, frozen_warn, final=False) if frozen_warn else step.at
            for extension in pending_extensions:
                due = calendar.add_calendar(due, extension)
            pending_extensions = []
        elif step.kind == "extended" and step.extension:
            extension = IsoDuration.parse(step.extension)
            if status == OPEN and due:
                due = calendar.add_calendar(due, extension)
            elif status == SUSPENDED:
                pending_extensions.append(extension)
        elif step.kind in CLOSING and status != CLOSED:
            status, closed_at = CLOSED, step.at
        elif step.kind in TOUCHING:
            last_touch = max(last_touch, step.at)
            if step.kind == "acknowledged" and acknowledged is None:
                acknowledged = step.at
    running = status == OPEN and due is not None
    return Schedule(
        status=status,
        opened_at=opened,
        due_at=due if status != CLOSED else None,
        warn_at=warn if running else None,
        escalate_at=add_term(calendar, due, norm.escalate_after) if running and due else None,
        interim_due_at=add_term(calendar, last_touch, norm.interim_every) if running else None,
        acknowledge_due_at=(
            add_term(calendar, opened, norm.acknowledge_within)
            if norm.acknowledge_within and acknowledged is None and status != CLOSED
            else None
        ),
        closed_at=closed_at,
    )
