"""The steps a request's clock is made of, and term arithmetic. Pure: the calendar
and the term come in, instants go out. The fold of a request's steps into its status and
instants is `domain.clock.lifecycle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.clock.calendar import IsoDuration, WorkCalendar
from domain.clock.norms import Term
from schemas.events import EventType

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


def add_term(
    calendar: WorkCalendar, start: datetime, term: Term, fraction: float = 1.0
) -> datetime:
    """`start` plus `fraction` of `term`, in the term's own measure (work or calendar time)."""
    if term.is_work_time:
        return calendar.add_work_seconds(start, term.work_seconds(calendar) * fraction)
    assert term.duration is not None
    end = calendar.add_calendar(start, term.duration)
    if fraction == 1.0:
        return end
    return start + (end - start) * fraction


class Remaining:
    """The remaining term while the clock is stopped, in the term's own measure."""

    def __init__(self, calendar: WorkCalendar, term: Term) -> None:
        self.calendar, self.term = calendar, term

    def remaining(self, at: datetime, target: datetime) -> float:
        """What is left at `at` of the term that ends at `target`."""
        if self.term.is_work_time:
            return self.calendar.work_seconds_between(at, target)
        return max(0.0, (target - at).total_seconds())

    def resume(self, at: datetime, remaining: float, final: bool) -> datetime:
        """The instant `remaining` after `at`; the final (due) instant of a term counted in
        days never falls on a closed day (Atw: it moves to the next workday)."""
        if self.term.is_work_time:
            return self.calendar.add_work_seconds(at, remaining)
        end = at + timedelta(seconds=remaining)
        if final and self.term.duration and self.term.duration.has_days:
            return self.calendar.add_calendar(end, IsoDuration())
        return end
