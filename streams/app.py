"""The faust app, built by a factory: topics, tables, a clock timer and one thin agent.

One agent consumes contact events *and* clock ticks, so everything about a partition is
serialised and every table write happens inside stream iteration on that partition (see
faust-notes). Ticks are small records a per-worker timer sends to each partition it owns.
Deadlines are indexed by second ("<partition>|<epoch second>" → request ids), so a sweep
reads only what is due, whatever the number of open requests.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import faust

from domain.clock import requests
from domain.clock.index import DeadlineIndex
from domain.clock.norms import Catalogue
from domain.clock.schedule import STEP_OF
from domain.customer import rules as customer_rules
from domain.customer import view as customer_view
from schemas.envelope import Envelope, InvalidEvent, decode, encode
from schemas.events import (
    ContactRecorded,
    DeadlineBreached,
    Direction,
    DocumentIssued,
    EventType,
    Notification,
    RequestOpened,
)
from schemas.topics import DEADLETTER, EVENTS, NOTIFICATIONS, SIGNALS, TopicSpec
from services.metrics import (
    CONSUMER_LAG,
    DEADLETTERS,
    DEADLINE_BREACHES,
    DETECTION_DELAY,
    EVENT_LAG,
    EVENTS_PROCESSED,
    NOTIFICATIONS_SENT,
)

log = logging.getLogger(__name__)
TICK_SECONDS = 0.2


TABLES = ("customer-view", "request-clock", "deadline-index", "deadline-cursor")


def ticks_topic(app_id: str) -> str:
    return f"{app_id}-clock-ticks"


def internal_topics(app_id: str) -> tuple[TopicSpec, ...]:
    """The worker's own topics, created before faust starts: faust creates changelogs
    itself, but on a fresh cluster its metadata can lag behind the creation and a table
    then sees 0 partitions (PartitionsMismatch). Changelogs are keyed state: compacted."""
    ticks = TopicSpec(
        ticks_topic(app_id),
        "clock ticks, one per owned partition",
        {"retention.ms": str(3600 * 1000), "cleanup.policy": "delete"},
    )
    changelogs = tuple(
        TopicSpec(
            f"{app_id}-{name}-changelog",
            f"changelog of the {name} table",
            {"cleanup.policy": "compact"},
        )
        for name in TABLES
    )
    return (ticks, *changelogs)


def create_app(
    bootstrap: str,
    *,
    partitions: int,
    catalogue: Catalogue,
    app_id: str = "contactmoment-worker",
    store: str = "rocksdb://",
    datadir: str = ".local/worker",
    events_topic: str = EVENTS,
    signals_topic: str = SIGNALS,
    notifications_topic: str = NOTIFICATIONS,
    deadletter_topic: str = DEADLETTER,
    offset_reset: str = "earliest",
    clock: Callable[[], float] = time.time,
) -> faust.App:
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store=store,
        datadir=datadir,
        topic_partitions=partitions,
        topic_allow_declare=True,
        topic_disable_leader=True,
        web_enabled=False,
        producer_acks=-1,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset=offset_reset,
        # A crashed worker's partitions move on after 10 s instead of faust's 60 s default.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        # Each table partition also lives, kept current from its changelog, on one other
        # worker of the group: when its owner dies, that worker takes over without first
        # reading the whole changelog (faust's default, stated because failover relies on it).
        table_standby_replicas=1,
    )
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "partitions": partitions,
    }
    ticks_name = ticks_topic(app_id)
    inputs = app.topic(events_topic, ticks_name, internal=False, **raw)
    events = app.topic(events_topic, internal=False, **raw)
    ticks = app.topic(ticks_name, internal=True, **raw)
    signals = app.topic(signals_topic, internal=False, **raw)
    notifications = app.topic(notifications_topic, internal=False, **raw)
    deadletters = app.topic(deadletter_topic, internal=False, **raw)

    # bytes keys → raw serializer (faust derives it from key_type, also for changelog
    # recovery); values are JSON dicts.
    def table(name: str) -> Any:
        return app.Table(name, partitions=partitions, key_type=bytes)

    customers = table("customer-view")
    clocks = table("request-clock")  # request id (or doc:<id>) → clock state
    index = table("deadline-index")  # "<partition>|<second>" → [clock keys]
    cursors = table("deadline-cursor")  # "<partition>" → last fully swept second

    deadlines = DeadlineIndex(index, cursors)

    async def emit(outputs: list[Envelope]) -> None:
        for out in outputs:
            topic = notifications if out.type is EventType.NOTIFICATION else signals
            await topic.send(key=out.subject.encode(), value=encode(out))
            data = out.data
            if isinstance(data, DeadlineBreached):
                DEADLINE_BREACHES.labels(data.request_type.value).inc()
                delay = (data.detected_at - data.due_at).total_seconds()
                DETECTION_DELAY.observe(max(0.0, delay))
            elif isinstance(data, Notification):
                NOTIFICATIONS_SENT.labels(data.kind.value, data.audience.value).inc()

    def context(customer: str) -> requests.Context:
        state = customers.get(customer.encode())
        channel = customer_view.preferred_channel(state) if state else None
        return requests.Context(catalogue, channel)

    async def save_clock(partition: int, key: str, state: dict[str, Any]) -> None:
        """Store a clock and move it to the second of its next transition."""
        if state.get("doc"):
            when = (
                None
                if state.get("emitted")
                else customer_rules.document_notice_at(
                    datetime.fromisoformat(state["valid_until"]).date()
                )
            )
        else:
            when = requests.next_instant(state, catalogue)
        state = {**state, "indexed": deadlines.move(partition, key, state.get("indexed"), when)}
        clocks[key.encode()] = state

    def erased(state: dict[str, Any]) -> bool:
        """Is this clock of a customer's history that an erasure removed?"""
        customer = state.get("customer")
        return customer is not None and customer_view.erased_history(
            customers.get(customer.encode()), state.get("born")
        )

    async def drop_clock(partition: int, key: str, state: dict[str, Any]) -> None:
        deadlines.move(partition, key, state.get("indexed"), None)
        clocks.pop(key.encode(), None)

    async def on_event(partition: int, event: Envelope, offset: int) -> None:
        key = event.subject.encode()
        if event.type is EventType.CUSTOMER_ERASED:
            # Its clocks are dropped as they come up (they are keyed by request, not here).
            customers[key] = customer_view.erase(offset)
            return
        before = customers.get(key)
        fresh = before is None or event.id not in before.get("recent", [])
        state, linked = customer_view.apply(before, event)
        data = event.data
        outputs: list[Envelope] = []
        if fresh and isinstance(data, ContactRecorded) and data.direction is Direction.INBOUND:
            state, repeat = customer_rules.repeat_contact(
                state, event.subject, data.subject, event.time
            )
            outputs += repeat
        if fresh and event.type is EventType.REQUEST_RESOLVED:
            rid = data.request_id  # type: ignore[attr-defined]
            clock_state = clocks.get(rid.encode())
            if clock_state and not requests.is_early(clock_state):
                state = customer_rules.note_resolved(state, clock_state["subject"], event.time)
        customers[key] = state
        for out in linked:
            await events.send(key=out.subject.encode(), value=encode(out))
        if fresh:
            outputs += await on_request_event(partition, event, offset)
        await emit(outputs)

    async def on_request_event(partition: int, event: Envelope, offset: int) -> list[Envelope]:
        data = event.data
        if isinstance(data, RequestOpened):
            known = clocks.get(data.request_id.encode())
            if known is not None and not requests.is_early(known):
                return []
            now = datetime.fromtimestamp(clock(), UTC)
            fresh, out = requests.opened_with(event, known, context(event.subject), now)
            born = known.get("born", offset) if known else offset
            await save_clock(partition, data.request_id, {**fresh, "born": born})
            return out
        if isinstance(data, DocumentIssued):
            doc = {
                "doc": True,
                "born": offset,
                "customer": event.subject,
                "kind": data.document_kind.value,
                "valid_until": data.valid_until.isoformat(),
            }
            doc, out = customer_rules.document_expiring(
                doc, datetime.fromtimestamp(clock(), UTC), context(event.subject).preferred_channel
            )
            await save_clock(partition, f"doc:{event.id}", doc)
            return out
        rid: str | None = getattr(data, "request_id", None)
        state = clocks.get(rid.encode()) if rid else None
        if rid is None:
            return []
        if (state is None or requests.is_early(state)) and event.type in STEP_OF:
            born = state.get("born", offset) if state else offset
            early = requests.early(state, event)  # opened has not come yet
            clocks[rid.encode()] = {**early, "born": born}
            return []
        if state is None or requests.is_early(state):
            return []
        if erased(state):
            await drop_clock(partition, rid, state)
            return []
        if isinstance(data, ContactRecorded):
            if data.direction is Direction.OUTBOUND:
                await save_clock(partition, rid, requests.touch(state, event.time))
            return []
        now = datetime.fromtimestamp(clock(), UTC)
        state, out = requests.on_event(state, event, context(state["customer"]), now)
        await save_clock(partition, rid, state)
        return out

    async def on_tick(partition: int) -> None:
        now = clock()
        current = datetime.fromtimestamp(now, UTC)
        for key in deadlines.due(partition, now):
            state = clocks.get(key.encode())
            if state is None:
                continue
            if erased(state):
                await drop_clock(partition, key, state)
                continue
            ctx = context(state["customer"])
            if state.get("doc"):
                state, out = customer_rules.document_expiring(state, current, ctx.preferred_channel)
            else:
                state, out = requests.sweep(state, current, ctx)
            await emit(out)  # ids are deterministic: a repeat after a crash is harmless
            await save_clock(partition, key, state)

    # concurrency=1: with more, faust can commit past an event still in flight (#606).
    @app.agent(inputs, concurrency=1)
    async def contact_agent(stream: Any) -> None:
        async for item in stream.events():
            message = item.message
            if message.topic == ticks_name:
                await on_tick(message.partition)
                continue
            try:
                event = decode(item.value or b"")
            except InvalidEvent as exc:
                await deadletters.send(
                    key=item.key,
                    value=item.value or b"",
                    headers=[
                        ("error.reason", exc.reason[:2000].encode()),
                        ("error.source", b"worker"),
                        (
                            "error.origin",
                            f"{message.topic}[{message.partition}]@{message.offset}".encode(),
                        ),
                    ],
                )
                DEADLETTERS.labels("worker").inc()
                continue
            await on_event(message.partition, event, message.offset)
            EVENTS_PROCESSED.labels(event.type.value).inc()
            EVENT_LAG.observe(max(0.0, time.time() - event.time.timestamp()))

    @app.timer(TICK_SECONDS)  # type: ignore[untyped-decorator]
    async def clock_ticks() -> None:
        # A timer has no exception guard in faust (#578): never let one escape.
        try:
            for tp in app.assignor.assigned_actives():
                if tp.topic == events_topic:
                    await ticks.send(
                        key=b"tick", value=json.dumps(clock()).encode(), partition=tp.partition
                    )
        except Exception:
            log.exception("clock tick failed; the next one retries")

    @app.timer(10.0)  # type: ignore[untyped-decorator]
    async def consumer_lag() -> None:
        """Records of the event topic not yet processed, per owned partition."""
        try:
            for tp in app.assignor.assigned_actives():
                if tp.topic != events_topic:
                    continue
                position = await app.consumer.position(tp)
                if position is not None:
                    lag = max(0, app.consumer.highwater(tp) - position)
                    CONSUMER_LAG.labels(app_id, tp.topic, str(tp.partition)).set(lag)
        except Exception:
            log.exception("measuring consumer lag failed; the next run retries")

    app.customer_view_table = customers  # type: ignore[attr-defined]
    return app
