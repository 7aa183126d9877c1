"""A request's lifecycle, folded from its steps: status, times, the due instant and the
clock's instants. The one rule set for the worker's clock and the read model.

The steps are folded in time order whatever order they arrived in (channel systems retry
calls independently, so an answer can reach Kafka before the question it answers). Steps
at the same instant go in a fixed order (`ORDER`), and the first `opened` always goes
first: a step timed before the opening (the channel systems' clocks differ) counts as
right after it.

- opened: the first one opens the request and starts its first term; a later one changes
  nothing.
- reopened: only a closed (answered, resolved or withdrawn) request reopens. A full new
  term starts there, and the answer and closing are cleared. Reopening an open or
  suspended request changes nothing: no new term, so everything the running term emitted
  (keyed by the term's start) stays emitted.
- suspended (open only): the clock stops, the remaining term is kept (Awb 4:15); a
  repeated suspension changes nothing. resumed (suspended only): the remaining term
  continues from there.
- extended: the due instant moves by the extension (calendar time); while suspended it is
  applied at the resumption; a closed request is not extended.
- answered (open or suspended): the clock stops; status answered, answered and closed at
  that step. resolved / withdrawn (open, suspended or answered): that status, closed at
  that step; after an answer, the answer time stays. A closing step of a closed request
  changes nothing (a withdrawn request is not answered afterwards).
- The due instant of a closed request is the one it had when the clock stopped (what
  "answered within norm" is measured against); None if it was closed while suspended.
- acknowledged: the first instant is kept; every acknowledgement counts as a change.
  Acknowledgements, interim updates and outbound contacts restart the interim-update timer.
- Without an `opened` step the clock never starts: status and times are folded, the
  instants are None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain.clock.calendar import IsoDuration, WorkCalendar
from domain.clock.norms import Norm
from domain.clock.terms import TOUCHING, Remaining, Step, add_term

OPEN, SUSPENDED = "open", "suspended"
ANSWERED, RESOLVED, WITHDRAWN = "answered", "resolved", "withdrawn"
CLOSED = frozenset({ANSWERED, RESOLVED, WITHDRAWN})
ORDER = (
    "opened",
    "reopened",
    "extended",
    "suspended",
    "resumed",
    "acknowledged",
    "interim-update",
    "outbound",
    "answered",
    "resolved",
    "withdrawn",
)
"""Steps at the same instant are folded in this order."""
_RANK = {kind: i for i, kind in enumerate(ORDER)}


@dataclass(frozen=True)
class Lifecycle:
    """Where a request stands after its steps."""

    status: str  # open | suspended | answered | resolved | withdrawn
    opened_at: datetime | None
    term_start: datetime | None  # the step that started the current term
    acknowledged_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    changed_at: datetime | None  # the last step that changed any of the above
    due_at: datetime | None  # None while suspended; closed: the one at closing
    warn_at: datetime | None  # this and the next three: only while the clock runs
    escalate_at: datetime | None
    interim_due_at: datetime | None
    acknowledge_due_at: datetime | None  # only while not closed and not acknowledged

    @property
    def running(self) -> bool:
        return self.status == OPEN and self.due_at is not None


def ordered(steps: Iterable[Step]) -> list[Step]:
    """The steps in the order the fold takes them (see the module docstring)."""
    return sorted(
        steps, key=lambda s: (s.kind != "opened", s.at, _RANK.get(s.kind, 99), s.extension or "")
    )


@dataclass
class _Fold:
    """The fold's running values."""

    norm: Norm
    calendar: WorkCalendar
    status: str = OPEN
    opened: datetime | None = None
    start: datetime | None = None
    due: datetime | None = None
    warn: datetime | None = None
    frozen_due: float = 0.0
    frozen_warn: float = 0.0
    pending: list[IsoDuration] = field(default_factory=list)
    last_touch: datetime | None = None
    acknowledged: datetime | None = None
    answered: datetime | None = None
    closed: datetime | None = None
    changed: datetime | None = None

    def start_term(self, step: Step, at: datetime) -> None:
        self.start, self.last_touch, self.pending = step.at, at, []
        self.due = add_term(self.calendar, at, self.norm.term)
        self.warn = add_term(self.calendar, at, self.norm.term, self.norm.warn_at)

    def take(self, step: Step) -> None:
        kind = step.kind
        # Clock arithmetic never runs before the opening.
        at = max(step.at, self.opened) if self.opened else step.at
        if kind == "opened":
            if self.opened is None:
                self.opened = step.at
                self.start_term(step, step.at)
            return
        if kind in TOUCHING and self.last_touch is not None:
            self.last_touch = max(self.last_touch, at)
        if kind == "acknowledged":
            self.acknowledged, self.changed = self.acknowledged or step.at, step.at
        elif kind == "reopened" and self.status in CLOSED:
            self.status, self.answered, self.closed, self.changed = OPEN, None, None, step.at
            if self.opened is not None:
                self.start_term(step, at)
        elif kind == "suspended" and self.status == OPEN:
            self.status, self.changed = SUSPENDED, step.at
            remaining = Remaining(self.calendar, self.norm.term)
            if self.due is not None and self.warn is not None:
                self.frozen_due = remaining.remaining(at, self.due)
                self.frozen_warn = remaining.remaining(at, self.warn)
            self.due = self.warn = None
        elif kind == "resumed" and self.status == SUSPENDED:
            self.status, self.changed = OPEN, step.at
            if self.opened is not None:
                self.resume(at)
        elif kind == "extended" and step.extension and self.status in (OPEN, SUSPENDED):
            extension = IsoDuration.parse(step.extension)
            if self.status == OPEN and self.due is not None:
                self.due = self.calendar.add_calendar(self.due, extension)
            elif self.status == SUSPENDED:
                self.pending.append(extension)
        elif kind == ANSWERED and self.status in (OPEN, SUSPENDED):
            self.status, self.changed = ANSWERED, step.at
            self.answered = self.closed = step.at
            self.warn = None
        elif kind in (RESOLVED, WITHDRAWN) and self.status in (OPEN, SUSPENDED, ANSWERED):
            self.status, self.closed, self.changed = kind, step.at, step.at
            self.warn = None

    def resume(self, at: datetime) -> None:
        remaining = Remaining(self.calendar, self.norm.term)
        due = remaining.resume(at, self.frozen_due, final=True)
        self.warn = remaining.resume(at, self.frozen_warn, final=False) if self.frozen_warn else at
        for extension in self.pending:
            due = self.calendar.add_calendar(due, extension)
        self.due, self.pending = due, []

    def result(self) -> Lifecycle:
        running = self.status == OPEN and self.due is not None
        norm, calendar = self.norm, self.calendar
        return Lifecycle(
            status=self.status,
            opened_at=self.opened,
            term_start=self.start,
            acknowledged_at=self.acknowledged,
            answered_at=self.answered,
            closed_at=self.closed,
            changed_at=self.changed,
            due_at=self.due,
            warn_at=self.warn if running else None,
            escalate_at=(
                add_term(calendar, self.due, norm.escalate_after) if running and self.due else None
            ),
            interim_due_at=(
                add_term(calendar, self.last_touch, norm.interim_every)
                if running and self.last_touch
                else None
            ),
            acknowledge_due_at=(
                add_term(calendar, self.opened, norm.acknowledge_within)
                if norm.acknowledge_within
                and self.opened
                and self.acknowledged is None
                and self.status not in CLOSED
                else None
            ),
        )


def fold(norm: Norm, calendar: WorkCalendar, steps: Iterable[Step]) -> Lifecycle:
    """Where a request stands after `steps` (in any order), measured against `norm`."""
    state = _Fold(norm, calendar)
    for step in ordered(steps):
        state.take(step)
    return state.result()
