"""The faust app, built by a factory: topics, the customer-view table and a thin agent.

The agent only decodes, calls the pure fold (streams.customer_view) and writes; every table
write happens inside stream iteration on the event's own partition (see faust-notes).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import faust

from schemas.envelope import InvalidEvent, decode, encode
from schemas.topics import DEADLETTER, EVENTS
from services.metrics import DEADLETTERS, EVENT_LAG, EVENTS_PROCESSED
from streams import customer_view

log = logging.getLogger(__name__)


def create_app(
    bootstrap: str,
    *,
    partitions: int,
    app_id: str = "contactmoment-worker",
    store: str = "rocksdb://",
    datadir: str = ".local/worker",
    events_topic: str = EVENTS,
    deadletter_topic: str = DEADLETTER,
    offset_reset: str = "earliest",
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
        table_cleanup_interval=60.0,
        # A crashed worker's partitions move on after 10 s instead of faust's 60 s default.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
    )
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "partitions": partitions,
    }
    events = app.topic(events_topic, internal=False, **raw)
    deadletters = app.topic(deadletter_topic, internal=False, **raw)
    customers = app.Table(
        "customer-view",
        partitions=partitions,
        # bytes keys → raw serializer (faust derives it from key_type; changelog recovery
        # uses the same, so a schema alone is not enough); values are JSON dicts.
        key_type=bytes,
    )

    # concurrency=1: with more, faust can commit past an event still in flight (#606).
    @app.agent(events, concurrency=1)
    async def customer_view_agent(stream: Any) -> None:
        async for item in stream.events():
            message = item.message
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
            key = event.subject.encode()
            state, emit = customer_view.apply(customers.get(key), event)
            customers[key] = state
            for linked in emit:
                await events.send(key=linked.subject.encode(), value=encode(linked))
            EVENTS_PROCESSED.labels(event.type.value).inc()
            EVENT_LAG.observe(max(0.0, time.time() - event.time.timestamp()))

    app.customer_view_table = customers  # type: ignore[attr-defined]
    return app
