"""The worker's step, pure: one event or one clock tick of a partition in, the table writes
and the events to emit out. `streams/app.py` decodes, calls it, and applies the result.

The step reads the worker's four tables through `Readable` views (str keys, JSON values)
and sees its own writes as it goes (`Overlay`), exactly as the faust tables would: the
customer view is written before the request's clock is read, a sweep sees the buckets it
re-files. Outputs carry deterministic ids, so a step repeated after a crash emits the same
events again and nothing downstream counts them twice.

- customer.erased: the customer's view is emptied; their clocks are keyed by request, not
  by customer, so each is dropped when it next comes up (an event or a sweep), if it was
  born before the erasure's offset.
- Every other event updates the customer view; a redelivered one (its id among the view's
  recent ids) changes nothing else, but the customer.linked events are sent again.
- request.opened starts a request clock, taking in steps that arrived before it
  (`EarlySteps`); document.issued starts a document clock ("doc:<event id>").
- Steps of a request are recorded on its clock; an outbound contact on a request restarts
  its interim-update timer; an inbound contact counts towards repeat contact.
- A tick sweeps the clocks whose next transition has come (`DeadlineIndex`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from domain.clock import requests
from domain.clock.index import DeadlineIndex
from domain.clock.norms import Catalogue
from domain.clock.state import ClockState, DocumentClock, EarlySteps, RequestClock, load
from domain.clock.terms import STEP_OF
from domain.customer import rules as customer_rules
from domain.customer import view as customer_view
from domain.overlay import Overlay, Readable, Write
from schemas.envelope import Envelope
from schemas.events import (
    ContactRecorded,
    DeadlineSignal,
    Direction,
    DocumentIssued,
    EventType,
    Notification,
    RequestOpened,
    RequestRef,
)

# Event data that may name a request (every kind with a request_id but request.opened).
_ABOUT_A_REQUEST = (RequestRef, ContactRecorded, DeadlineSignal, Notification)


@dataclass(frozen=True)
class Tables:
    """Read views of the worker's tables."""

    customers: Readable  # customer key → customer view
    clocks: Readable  # request id (or doc:<event id>) → clock state
    index: Readable  # "<partition>|<second>" → [clock keys]
    cursors: Readable  # "<partition>" → last fully swept second


@dataclass(frozen=True)
class Outcome:
    """What a step decided: writes per table in order, then what to send."""

    customers: list[Write] = field(default_factory=list)
    clocks: list[Write] = field(default_factory=list)
    index: list[Write] = field(default_factory=list)
    cursors: list[Write] = field(default_factory=list)
    linked: list[Envelope] = field(default_factory=list)  # to the events topic
    outputs: list[Envelope] = field(default_factory=list)  # to signals / notifications


def on_event(
    tables: Tables,
    catalogue: Catalogue,
    partition: int,
    offset: int,
    event: Envelope,
    now: float,
) -> Outcome:
    """One event of the events topic, read at `offset` of `partition`, at `now` (epoch s)."""
    step = _Step(tables, catalogue, partition)
    step.event(event, offset, datetime.fromtimestamp(now, UTC))
    return step.outcome()


def on_tick(tables: Tables, catalogue: Catalogue, partition: int, now: float) -> Outcome:
    """One clock tick of `partition` at `now` (epoch seconds): sweep what is due."""
    step = _Step(tables, catalogue, partition)
    step.tick(now)
    return step.outcome()


class _Step:
    """The tables as one step sees them, and what it emits."""

    def __init__(self, tables: Tables, catalogue: Catalogue, partition: int) -> None:
        self.catalogue, self.partition = catalogue, partition
        self.customers = Overlay(tables.customers)
        self.clocks = Overlay(tables.clocks)
        self.index = Overlay(tables.index)
        # A tick moves its partition's cursor once a second, but ticks come five times a
        # second: only a moved cursor is written.
        self.cursors = Overlay(tables.cursors, skip_unchanged=True)
        self.deadlines = DeadlineIndex(self.index, self.cursors, encode=False)
        self.linked: list[Envelope] = []
        self.outputs: list[Envelope] = []

    def outcome(self) -> Outcome:
        return Outcome(
            self.customers.writes,
            self.clocks.writes,
            self.index.writes,
            self.cursors.writes,
            self.linked,
            self.outputs,
        )

    def context(self, customer: str) -> requests.Context:
        view = self.customers.get(customer)
        channel = customer_view.preferred_channel(view) if view else None
        return requests.Context(self.catalogue, channel)

    def clock(self, key: str) -> ClockState | None:
        raw = self.clocks.get(key)
        return load(raw) if raw is not None else None

    def save(self, key: str, clock: RequestClock | DocumentClock) -> None:
        """Store a clock and move it to the second of its next transition."""
        if isinstance(clock, DocumentClock):
            when = customer_rules.document_next_instant(clock)
        else:
            when = requests.next_instant(clock, self.catalogue)
        indexed = self.deadlines.move(self.partition, key, clock.indexed, when)
        self.clocks[key] = replace(clock, indexed=indexed).to_json()

    def erased(self, clock: RequestClock | DocumentClock) -> bool:
        """Is this clock of a customer's history that an erasure removed?"""
        view = self.customers.get(clock.customer)
        return customer_view.erased_history(view, clock.born)

    def drop(self, key: str, clock: RequestClock | DocumentClock) -> None:
        self.deadlines.move(self.partition, key, clock.indexed, None)
        self.clocks.pop(key)

    def event(self, event: Envelope, offset: int, now: datetime) -> None:
        key, data = event.subject, event.data
        if event.type is EventType.CUSTOMER_ERASED:
            self.customers[key] = customer_view.erase(offset)
            return
        before = self.customers.get(key)
        fresh = before is None or event.id not in before.get("recent", [])
        view, self.linked = customer_view.apply(before, event)
        if fresh and isinstance(data, ContactRecorded) and data.direction is Direction.INBOUND:
            view, repeat = customer_rules.repeat_contact(view, key, data.subject, event.time)
            self.outputs += repeat
        if fresh and event.type is EventType.REQUEST_RESOLVED and isinstance(data, RequestRef):
            clock = self.clock(data.request_id)
            if isinstance(clock, RequestClock):
                view = customer_rules.note_resolved(view, clock.subject, event.time)
        self.customers[key] = view
        if fresh:
            self.request_event(event, offset, now)
        else:
            self.rewrite(event)

    def rewrite(self, event: Envelope) -> None:
        """A redelivered event writes its clock and that clock's deadline bucket again, as
        they stand. Redelivery follows a crash, which can leave a step's writes in the local
        store without their changelog records: a worker that takes the partition over from
        the changelog would otherwise never see the clock, and the request never breach."""
        data = event.data
        if isinstance(data, DocumentIssued):
            key = f"doc:{event.id}"
        elif isinstance(data, (RequestOpened, *_ABOUT_A_REQUEST)) and data.request_id:
            key = data.request_id
        else:
            return
        raw = self.clocks.get(key)
        if raw is None:
            return
        self.clocks[key] = raw
        clock = load(raw)
        indexed = clock.indexed if isinstance(clock, RequestClock | DocumentClock) else None
        slot = f"{self.partition}|{indexed}"
        bucket = self.index.get(slot) if indexed is not None else None
        if bucket is not None:
            self.index[slot] = bucket

    def request_event(self, event: Envelope, offset: int, now: datetime) -> None:
        data = event.data
        if isinstance(data, RequestOpened):
            known = self.clock(data.request_id)
            if known is not None and not isinstance(known, EarlySteps):
                self.rewrite(event)  # opened before: a resend
                return
            ctx = self.context(event.subject)
            clock, out = requests.opened_with(event, known, ctx, now)
            born = known.born if known and known.born is not None else offset
            self.save(data.request_id, replace(clock, born=born))
            self.outputs += out
        elif isinstance(data, DocumentIssued):
            doc = customer_rules.document_issued(event.subject, data, offset)
            channel = self.context(event.subject).preferred_channel
            doc, out = customer_rules.document_expiring(doc, now, channel)
            self.save(f"doc:{event.id}", doc)
            self.outputs += out
        elif isinstance(data, _ABOUT_A_REQUEST) and data.request_id:
            self.request_step(data.request_id, event, offset, now)

    def request_step(self, rid: str, event: Envelope, offset: int, now: datetime) -> None:
        clock = self.clock(rid)
        if (clock is None or isinstance(clock, EarlySteps)) and event.type in STEP_OF:
            born = clock.born if clock and clock.born is not None else offset
            early = requests.early(clock, event)  # opened has not come yet
            self.clocks[rid] = replace(early, born=born).to_json()
            return
        if not isinstance(clock, RequestClock):
            return
        if self.erased(clock):
            self.drop(rid, clock)
            return
        if isinstance(event.data, ContactRecorded):
            if event.data.direction is Direction.OUTBOUND:
                self.save(rid, requests.touch(clock, event.time))
            return
        clock, out = requests.on_event(clock, event, self.context(clock.customer), now)
        self.save(rid, clock)
        self.outputs += out

    def tick(self, now: float) -> None:
        current = datetime.fromtimestamp(now, UTC)
        for key in self.deadlines.due(self.partition, now):
            clock = self.clock(key)
            if not isinstance(clock, RequestClock | DocumentClock):
                continue  # gone, or (never filed) early steps
            if self.erased(clock):
                self.drop(key, clock)
                continue
            ctx = self.context(clock.customer)
            if isinstance(clock, DocumentClock):
                clock, out = customer_rules.document_expiring(clock, current, ctx.preferred_channel)
            else:
                clock, out = requests.sweep(clock, current, ctx)
            self.outputs += out  # ids are deterministic: a repeat after a crash is harmless
            self.save(key, clock)
