"""Per-request clock: what a request's clock emits, as pure functions over `RequestClock`.

The state (a changelog-backed table value, see `domain.clock.state`) keeps the request's
history as clock steps, the norm it runs against, and the keys of everything already
emitted, so a tick or an event processed twice never emits twice. Emitted ids derive from
those keys; each key carries the start of the term it belongs to (`term_start`), the term
`domain.clock.lifecycle` folds from the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from domain.clock.calendar import AMSTERDAM
from domain.clock.lifecycle import OPEN, Lifecycle, fold
from domain.clock.norms import Catalogue, Norm
from domain.clock.state import EarlySteps, RequestClock
from domain.clock.terms import STEP_OF, Step, add_term
from domain.messages import text
from schemas.envelope import Envelope, new_event
from schemas.events import (
    Audience,
    DeadlineBreached,
    DeadlineSignal,
    EventType,
    Notification,
    NotificationKind,
    RequestExtended,
    RequestOpened,
    RequestRef,
    RequestType,
)

SOURCE = "urn:contactmoment:clock"


@dataclass(frozen=True)
class Context:
    """What the clock needs besides the state: the norms and the customer's channel."""

    catalogue: Catalogue
    preferred_channel: str | None = None


def opened(event: Envelope) -> RequestClock:
    """The clock of a newly opened request."""
    data = event.data
    if not isinstance(data, RequestOpened):
        raise TypeError(f"a clock opens on request.opened, not {event.type.value}")
    return RequestClock(
        request_id=data.request_id,
        customer=event.subject,
        type=data.request_type.value,
        subject=data.subject,
        channel=data.channel.value,
        department=data.department,
        steps=(Step("opened", event.time),),
    )


def _step_of(event: Envelope) -> Step | None:
    """The clock step a request event is (None: not a lifecycle step)."""
    kind = STEP_OF.get(event.type)
    if kind is None:
        return None
    extension = event.data.extension if isinstance(event.data, RequestExtended) else None
    return Step(kind, event.time, extension)


def early(state: EarlySteps | None, event: Envelope) -> EarlySteps:
    """A lifecycle step of a request whose opening has not arrived yet. Channel systems
    retry calls independently, so a reply can reach Kafka before the message it answers;
    the step is kept (not indexed: there is no clock yet) until `opened` takes it in."""
    data, step = event.data, _step_of(event)
    if not isinstance(data, RequestRef) or step is None:
        raise TypeError(f"{event.type.value} is not a step of a request")
    if state is None:
        return EarlySteps(data.request_id, (step,))
    return replace(state, steps=(*state.steps, step))


def is_early(state: object) -> bool:
    return isinstance(state, EarlySteps)


def opened_with(
    event: Envelope, waiting: EarlySteps | None, ctx: Context, now: datetime
) -> tuple[RequestClock, list[Envelope]]:
    """The clock of a newly opened request, taking in the steps that arrived before it in
    time order, each as if it had come after the opening (an answer after the due instant
    is still a breach and met-late)."""
    state, out = opened(event), []
    for s in sorted(waiting.steps if waiting else (), key=lambda s: s.at):
        state, more = step(state, s.kind, s.at, s.extension, ctx, now)
        out += more
    return state, out


def norm_of(state: RequestClock, catalogue: Catalogue) -> Norm:
    return catalogue.lookup(state.type, state.subject, state.channel)


def current(state: RequestClock, catalogue: Catalogue) -> Lifecycle:
    """Where the request stands now."""
    return fold(norm_of(state, catalogue), catalogue.calendar, state.steps)


def term_start(life: Lifecycle) -> str:
    """The start of the current term, as emission keys carry it: a reopened request's
    clock is a new one."""
    assert life.term_start is not None  # a RequestClock always has its opening
    return life.term_start.isoformat()


def add_step(
    state: RequestClock, kind: str, at: datetime, extension: str | None = None
) -> RequestClock:
    return replace(state, steps=(*state.steps, Step(kind, at, extension)))


def next_instant(state: RequestClock, catalogue: Catalogue) -> datetime | None:
    """When this request next needs the clock (None: nothing pending)."""
    s = current(state, catalogue)
    if s.status != OPEN:
        return None
    start = term_start(s)
    pending = [
        s.warn_at if f"warning|{start}" not in state.emitted else None,
        s.due_at if f"breached|{start}" not in state.emitted else None,
        s.escalate_at if f"escalated|{start}" not in state.emitted else None,
        s.interim_due_at
        if s.interim_due_at and f"interim|{s.interim_due_at.isoformat()}" not in state.emitted
        else None,
    ]
    return min((p for p in pending if p is not None), default=None)


def _signal(
    state: RequestClock, kind: EventType, s: Lifecycle, norm: Norm, detected: datetime, key: str
) -> Envelope:
    model = DeadlineBreached if kind is EventType.DEADLINE_BREACHED else DeadlineSignal
    assert s.due_at is not None or kind is EventType.DEADLINE_MET_LATE
    return new_event(
        kind,
        source=SOURCE,
        source_id=f"{state.request_id}|{key}",
        subject=state.customer,
        time=detected,
        data=model(
            request_id=state.request_id,
            request_type=RequestType(state.type),
            department=state.department,
            opened_at=s.opened_at or detected,
            due_at=s.due_at or detected,
            norm=norm.term.text,
            detected_at=detected,
        ),
    )


def notification(
    customer: str,
    kind: NotificationKind,
    audience: Audience,
    key: str,
    at: datetime,
    message: str,
    channel: str | None = None,
    request_id: str | None = None,
) -> Envelope:
    notification_id = f"{kind.value}|{audience.value}|{key}"
    return new_event(
        EventType.NOTIFICATION,
        source=SOURCE,
        source_id=notification_id,
        subject=customer,
        time=at,
        data=Notification(
            notification_id=notification_id[:200],
            kind=kind,
            audience=audience,
            channel=channel,
            request_id=request_id,
            message=message,
        ),
    )


def _when(instant: datetime | None) -> str:
    return instant.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M") if instant else "—"


def sweep(state: RequestClock, now: datetime, ctx: Context) -> tuple[RequestClock, list[Envelope]]:
    """Everything due at `now` that was not emitted yet, emitted once."""
    norm = norm_of(state, ctx.catalogue)
    s = current(state, ctx.catalogue)
    if s.status != OPEN:
        return state, []
    start = term_start(s)
    emitted = list(state.emitted)
    out: list[Envelope] = []
    rid, customer = state.request_id, state.customer
    values = {
        "subject": state.subject,
        "department": state.department or "onbekend",
        "due": _when(s.due_at),
    }

    def once(key: str) -> bool:
        if key in emitted:
            return False
        emitted.append(key)
        return True

    if s.warn_at and now >= s.warn_at and once(f"warning|{start}"):
        out.append(_signal(state, EventType.DEADLINE_WARNING, s, norm, now, f"warning|{start}"))
    if s.due_at and now >= s.due_at and once(f"breached|{start}"):
        out.append(_signal(state, EventType.DEADLINE_BREACHED, s, norm, now, f"breached|{start}"))
        if state.type == "callback":
            promise = _when(add_term(ctx.catalogue.calendar, now, norm.escalate_after))
            out.append(
                notification(
                    customer,
                    NotificationKind.CALLBACK_MISSED,
                    Audience.CUSTOMER,
                    f"{rid}|{start}",
                    now,
                    text("callback-missed", "customer", promise=promise, **values),
                    channel=ctx.preferred_channel or "phone",
                    request_id=rid,
                )
            )
            out.append(
                notification(
                    customer,
                    NotificationKind.CALLBACK_MISSED,
                    Audience.STAFF,
                    f"{rid}|{start}",
                    now,
                    text("callback-missed", "staff", **values),
                    request_id=rid,
                )
            )
    if (
        f"breached|{start}" in emitted
        and s.escalate_at
        and now >= s.escalate_at
        and once(f"escalated|{start}")
    ):
        out.append(_signal(state, EventType.DEADLINE_ESCALATED, s, norm, now, f"escalated|{start}"))
        out.append(
            notification(
                customer,
                NotificationKind.DEADLINE_BREACHED,
                Audience.REGIETEAM,
                f"{rid}|{start}",
                now,
                text("deadline-breached", "regieteam", **values),
                request_id=rid,
            )
        )
    if s.interim_due_at and now >= s.interim_due_at:
        key = f"interim|{s.interim_due_at.isoformat()}"
        if once(key):
            out.append(
                notification(
                    customer,
                    NotificationKind.INTERIM_UPDATE_DUE,
                    Audience.STAFF,
                    f"{rid}|{s.interim_due_at.isoformat()}",
                    now,
                    text("interim-update-due", "staff", **values),
                    request_id=rid,
                )
            )
    return replace(state, emitted=tuple(emitted)), out


def on_event(
    state: RequestClock, event: Envelope, ctx: Context, now: datetime | None = None
) -> tuple[RequestClock, list[Envelope]]:
    """A lifecycle event of the request: record the step; answer-after-breach → met-late;
    resolved → ask the customer for feedback.

    The clock runs on event time: a step that happened after the due instant of an open
    request comes after its breach, even when no tick saw the breach first (the worker was
    down, or the partition moved). That breach is emitted here, stamped `now`, the moment
    it was detected. Warnings and reminders are not caught up: they are moot by now."""
    s = _step_of(event)
    if s is None or s.kind == "opened":
        return state, []
    return step(state, s.kind, s.at, s.extension, ctx, now)


def step(
    state: RequestClock,
    kind: str,
    at: datetime,
    extension: str | None,
    ctx: Context,
    now: datetime | None = None,
) -> tuple[RequestClock, list[Envelope]]:
    """One lifecycle step at event time `at` (see `on_event`)."""
    before = current(state, ctx.catalogue)
    start = term_start(before)
    out: list[Envelope] = []
    breach_key = f"breached|{start}"
    if (
        before.status == OPEN
        and before.due_at
        and at > before.due_at
        and breach_key not in state.emitted
    ):
        detected = max(now or at, at)
        norm = norm_of(state, ctx.catalogue)
        out.append(_signal(state, EventType.DEADLINE_BREACHED, before, norm, detected, breach_key))
        state = replace(state, emitted=(*state.emitted, breach_key))
    state = add_step(state, kind, at, extension)
    emitted = list(state.emitted)
    if kind == "answered" and f"breached|{start}" in emitted and f"met-late|{start}" not in emitted:
        emitted.append(f"met-late|{start}")
        out.append(
            _signal(
                state,
                EventType.DEADLINE_MET_LATE,
                before,
                norm_of(state, ctx.catalogue),
                at,
                f"met-late|{start}",
            )
        )
    if kind == "resolved" and f"feedback|{start}" not in emitted:
        emitted.append(f"feedback|{start}")
        out.append(
            notification(
                state.customer,
                NotificationKind.FEEDBACK_REQUEST,
                Audience.CUSTOMER,
                f"{state.request_id}|{start}",
                at,
                text("feedback-request", "customer", subject=state.subject),
                channel=ctx.preferred_channel or state.channel,
                request_id=state.request_id,
            )
        )
    return replace(state, emitted=tuple(emitted)), out


def touch(state: RequestClock, at: datetime) -> RequestClock:
    """An outbound contact on the request restarts the interim-update timer."""
    return add_step(state, "outbound", at)


__all__ = [
    "Context",
    "early",
    "is_early",
    "next_instant",
    "on_event",
    "opened",
    "opened_with",
    "step",
    "sweep",
]
