"""Per-request clock state and what it emits, as pure functions over plain dicts.

The state (a JSON dict in a changelog-backed table) keeps the request's history as clock
steps, the norm it runs against, and the keys of everything already emitted, so a tick or
an event processed twice never emits twice. Emitted ids derive from those keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock.calendar import AMSTERDAM
from domain.clock.norms import Catalogue, Norm
from domain.clock.schedule import STEP_OF, Schedule, Step, add_term, schedule
from domain.messages import text
from schemas.envelope import Envelope, new_event
from schemas.events import (
    Audience,
    DeadlineBreached,
    DeadlineSignal,
    EventType,
    Notification,
    NotificationKind,
    RequestType,
)

SOURCE = "urn:contactmoment:clock"
State = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What the clock needs besides the state: the norms and the customer's channel."""

    catalogue: Catalogue
    preferred_channel: str | None = None


def opened(event: Envelope) -> State:
    """The clock of a newly opened request."""
    data = event.data
    return {
        "request_id": data.request_id,  # type: ignore[attr-defined]
        "customer": event.subject,
        "type": data.request_type.value,  # type: ignore[attr-defined]
        "subject": data.subject,  # type: ignore[attr-defined]
        "channel": data.channel.value,  # type: ignore[attr-defined]
        "department": data.department,  # type: ignore[attr-defined]
        "steps": [["opened", event.time.isoformat(), None]],
        "emitted": [],
    }


def early(state: State | None, event: Envelope) -> State:
    """A lifecycle step of a request whose opening has not arrived yet. Channel systems
    retry calls independently, so a reply can reach Kafka before the message it answers;
    the step is kept (not indexed: there is no clock yet) until `opened` takes it in."""
    kind = STEP_OF[event.type]
    extension = getattr(event.data, "extension", None)
    steps = (state or {}).get("early", [])
    return {
        "request_id": event.data.request_id,  # type: ignore[attr-defined]
        "early": [*steps, [kind, event.time.isoformat(), extension]],
    }


def is_early(state: State | None) -> bool:
    return state is not None and "early" in state


def opened_with(
    event: Envelope, waiting: State | None, ctx: Context, now: datetime
) -> tuple[State, list[Envelope]]:
    """The clock of a newly opened request, taking in the steps that arrived before it in
    time order, each as if it had come after the opening (an answer after the due instant
    is still a breach and met-late)."""
    state, out = opened(event), []
    for kind, at, extension in sorted((waiting or {}).get("early", []), key=lambda s: s[1]):
        state, more = step(state, kind, datetime.fromisoformat(at), extension, ctx, now)
        out += more
    return state, out


def norm_of(state: State, catalogue: Catalogue) -> Norm:
    return catalogue.lookup(state["type"], state["subject"], state["channel"])


def steps(state: State) -> list[Step]:
    parsed = [Step(k, datetime.fromisoformat(at), ext) for k, at, ext in state["steps"]]
    return sorted(parsed, key=lambda s: s.at)


def current(state: State, catalogue: Catalogue) -> Schedule:
    return schedule(norm_of(state, catalogue), catalogue.calendar, steps(state))


def term_start(state: State) -> str:
    """The start of the current term: a reopened request's clock is a new one."""
    return str(max(at for k, at, _ in state["steps"] if k in ("opened", "reopened")))


def add_step(state: State, kind: str, at: datetime, extension: str | None = None) -> State:
    return {**state, "steps": [*state["steps"], [kind, at.isoformat(), extension]]}


def next_instant(state: State, catalogue: Catalogue) -> datetime | None:
    """When this request next needs the clock (None: nothing pending)."""
    s = current(state, catalogue)
    if s.status != "open":
        return None
    start = term_start(state)
    pending = [
        s.warn_at if f"warning|{start}" not in state["emitted"] else None,
        s.due_at if f"breached|{start}" not in state["emitted"] else None,
        s.escalate_at if f"escalated|{start}" not in state["emitted"] else None,
        s.interim_due_at
        if s.interim_due_at and f"interim|{s.interim_due_at.isoformat()}" not in state["emitted"]
        else None,
    ]
    return min((p for p in pending if p is not None), default=None)


def _signal(
    state: State, kind: EventType, s: Schedule, norm: Norm, detected: datetime, key: str
) -> Envelope:
    model = DeadlineBreached if kind is EventType.DEADLINE_BREACHED else DeadlineSignal
    assert s.due_at is not None or kind is EventType.DEADLINE_MET_LATE
    return new_event(
        kind,
        source=SOURCE,
        source_id=f"{state['request_id']}|{key}",
        subject=state["customer"],
        time=detected,
        data=model(
            request_id=state["request_id"],
            request_type=RequestType(state["type"]),
            department=state["department"],
            opened_at=s.opened_at,
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


def sweep(state: State, now: datetime, ctx: Context) -> tuple[State, list[Envelope]]:
    """Everything due at `now` that was not emitted yet, emitted once."""
    norm = norm_of(state, ctx.catalogue)
    s = current(state, ctx.catalogue)
    if s.status != "open":
        return state, []
    start = term_start(state)
    emitted = list(state["emitted"])
    out: list[Envelope] = []
    rid, customer = state["request_id"], state["customer"]
    values = {
        "subject": state["subject"],
        "department": state["department"] or "onbekend",
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
        if state["type"] == "callback":
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
    return {**state, "emitted": emitted}, out


def on_event(
    state: State, event: Envelope, ctx: Context, now: datetime | None = None
) -> tuple[State, list[Envelope]]:
    """A lifecycle event of the request: record the step; answer-after-breach → met-late;
    resolved → ask the customer for feedback.

    The clock runs on event time: a step that happened after the due instant of an open
    request comes after its breach, even when no tick saw the breach first (the worker was
    down, or the partition moved). That breach is emitted here, stamped `now`, the moment
    it was detected. Warnings and reminders are not caught up: they are moot by now."""
    kind = STEP_OF.get(event.type)
    if kind is None or kind == "opened":
        return state, []
    extension = getattr(event.data, "extension", None)
    return step(state, kind, event.time, extension, ctx, now)


def step(
    state: State,
    kind: str,
    at: datetime,
    extension: str | None,
    ctx: Context,
    now: datetime | None = None,
) -> tuple[State, list[Envelope]]:
    """One lifecycle step at event time `at` (see `on_event`)."""
    before = current(state, ctx.catalogue)
    start = term_start(state)
    out: list[Envelope] = []
    breach_key = f"breached|{start}"
    if (
        before.status == "open"
        and before.due_at
        and at > before.due_at
        and breach_key not in state["emitted"]
    ):
        detected = max(now or at, at)
        norm = norm_of(state, ctx.catalogue)
        out.append(_signal(state, EventType.DEADLINE_BREACHED, before, norm, detected, breach_key))
        state = {**state, "emitted": [*state["emitted"], breach_key]}
    state = add_step(state, kind, at, extension)
    emitted = list(state["emitted"])
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
                state["customer"],
                NotificationKind.FEEDBACK_REQUEST,
                Audience.CUSTOMER,
                f"{state['request_id']}|{start}",
                at,
                text("feedback-request", "customer", subject=state["subject"]),
                channel=ctx.preferred_channel or state["channel"],
                request_id=state["request_id"],
            )
        )
    return {**state, "emitted": emitted}, out


def touch(state: State, at: datetime) -> State:
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
