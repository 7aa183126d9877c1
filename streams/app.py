"""The faust app, built by a factory: topics, tables, a clock timer and one thin agent.

One agent consumes contact events *and* clock ticks, so everything about a partition is
serialised, and every table write happens inside stream iteration on that partition (faust
finds the changelog partition of a write from the event being processed). Ticks are small
records a per-worker timer sends to each partition it owns. The agent decodes, calls the
pure step (`domain.worker`), sends what it emits and applies its table writes; deadlines are
indexed by second ("<partition>|<epoch second>" → clock keys), so a sweep reads only what
is due, whatever the number of open requests.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import faust

from domain import worker
from domain.clock.norms import Catalogue
from domain.overlay import Put, Write
from schemas.envelope import Envelope, InvalidEvent, decode, encode
from schemas.events import DeadlineBreached, EventType, Notification
from schemas.topics import DEADLETTER, EVENTS, NOTIFICATIONS, SIGNALS, TopicSpec
from services.kafka.client import PLAINTEXT, KafkaAuth
from services.kafka.deadletter import Consumed, dead_letter_headers
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
# Every table write is a changelog record and every tick a record of its own: without a
# linger each went out in a produce request of its own, and writing those requests was a
# third of the worker's CPU (docs/performance.md). 10 ms lets one request carry the records
# of many events; at-least-once is unchanged, because faust flushes the producer before it
# commits an offset. A batch holds a whole customer view (up to ~18 KB, over aiokafka's
# 16 KiB default, which sent each such view in a batch of its own).
# Kept at faust's 0 until the kill -9-during-a-batch fault case is explained: with 50 ms it
# once left two due requests without a breach (tests/faults, docs/performance.md).
PRODUCER_LINGER_SECONDS = 0.0
PRODUCER_BATCH_BYTES = 256 * 1024


TABLES = ("customer-view", "request-clock", "deadline-index", "deadline-cursor")


class _View:
    """A faust table (bytes keys) as the worker step reads it (str keys)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(key.encode(), default)


async def _send(outcome: worker.Outcome, events: Any, signals: Any, notifications: Any) -> None:
    """Send what a step emits. Sent before the step's writes are applied: a crash in
    between sends again (the same ids) rather than store that something went out that
    never did."""
    for out in outcome.linked:
        await events.send(key=out.subject.encode(), value=encode(out))
    for out in outcome.outputs:
        topic = notifications if out.type is EventType.NOTIFICATION else signals
        await topic.send(key=out.subject.encode(), value=encode(out))
        _count(out)


def _write(outcome: worker.Outcome, tables: tuple[tuple[Any, str], ...]) -> None:
    """Apply a step's writes to the faust tables, in order."""
    for table, name in tables:
        writes: list[Write] = getattr(outcome, name)
        for write in writes:
            if isinstance(write, Put):
                table[write.key.encode()] = write.value
            else:
                table.pop(write.key.encode(), None)


def _count(out: Envelope) -> None:
    """Metrics of an emitted signal or notification."""
    data = out.data
    if isinstance(data, DeadlineBreached):
        DEADLINE_BREACHES.labels(data.request_type.value).inc()
        delay = (data.detected_at - data.due_at).total_seconds()
        DETECTION_DELAY.observe(max(0.0, delay))
    elif isinstance(data, Notification):
        NOTIFICATIONS_SENT.labels(data.kind.value, data.audience.value).inc()


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
    auth: KafkaAuth = PLAINTEXT,
) -> faust.App:
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        # TLS and SCRAM for the producer, the consumers and the topic admin alike.
        **auth.faust_options(),
        store=store,
        datadir=datadir,
        topic_partitions=partitions,
        topic_allow_declare=True,
        topic_disable_leader=True,
        web_enabled=False,
        producer_acks=-1,
        producer_linger=PRODUCER_LINGER_SECONDS,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
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
    views = worker.Tables(_View(customers), _View(clocks), _View(index), _View(cursors))

    tables = ((customers, "customers"), (clocks, "clocks"), (index, "index"), (cursors, "cursors"))

    async def apply(outcome: worker.Outcome) -> None:
        await _send(outcome, events, signals, notifications)
        _write(outcome, tables)

    async def dead_letter(item: Any, reason: str) -> None:
        message = item.message
        headers = message.headers or ()
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        consumed = Consumed(
            message.topic, message.partition, message.offset, item.key, item.value, tuple(pairs)
        )
        await deadletters.send(
            key=item.key,
            value=item.value or b"",
            headers=list(dead_letter_headers(consumed, reason, "worker")),
        )
        DEADLETTERS.labels("worker").inc()

    # concurrency=1: with more, faust can commit past an event still in flight (#606).
    @app.agent(inputs, concurrency=1)
    async def contact_agent(stream: Any) -> None:
        async for item in stream.events():
            message = item.message
            if message.topic == ticks_name:
                await apply(worker.on_tick(views, catalogue, message.partition, clock()))
                continue
            try:
                event = decode(item.value or b"")
            except InvalidEvent as exc:
                await dead_letter(item, exc.reason)
                continue
            step = worker.on_event(
                views, catalogue, message.partition, message.offset, event, clock()
            )
            await apply(step)
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
