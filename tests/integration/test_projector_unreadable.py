"""Sealed text that does not open where it is — moved to another customer's event, moved to
another field, or forged — sends its event to the dead-letter topic with a reason; the
projector goes on, and the rest of the batch is in the read model (real Kafka and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from harness.kafka import read_all
from schemas.envelope import Envelope, new_event
from schemas.events import EventType, RequestInterimUpdate
from services.privacy.crypto import key_id_of
from services.projector.apply import apply_batch
from services.projector.run import Projector
from services.settings import Settings
from tests.integration.test_projector import Lane, lane, publish, until_ledger  # noqa: F401
from tests.integration.test_projector_privacy import (  # noqa: F401
    NOTES,
    batch,
    config,
    pool,
    sealed_call,
)


def with_summary(event: Envelope, summary: str) -> Envelope:
    """The event under a new id with another (sealed) summary put in."""
    return event.model_copy(
        update={
            "id": str(uuid.uuid4()),
            "data": event.data.model_copy(update={"summary": summary}),
        }
    )


async def bad_events(settings: Settings) -> tuple[list[Envelope], list[Envelope]]:
    """Good calls of three customers, and three events whose sealed text is misplaced."""
    when = datetime.now(UTC) - timedelta(minutes=5)
    a, b, c = [await sealed_call(settings, when) for _ in range(3)]
    stolen = a[0].data.summary  # type: ignore[attr-defined]
    other_customer = with_summary(b[0], stolen)
    other_field = new_event(
        EventType.REQUEST_INTERIM_UPDATE,
        source="urn:contactmoment:test",
        source_id=f"moved-{uuid.uuid4()}",
        subject=a[0].subject,
        time=when,
        data=RequestInterimUpdate(request_id="phone-moved", note=stolen),
    )
    junk = base64.urlsafe_b64encode(os.urandom(80)).decode().rstrip("=")
    forged = with_summary(a[0], f"enc:v1:{key_id_of(stolen)}:{junk}")
    return a + b + c, [other_customer, other_field, forged]


async def test_misplaced_sealed_text_is_rejected_and_the_rest_applied(
    settings: Settings,
    pool: asyncpg.Pool,  # noqa: F811
) -> None:
    good, bad = await bad_events(settings)
    rejected: list[tuple[Envelope, str]] = []
    mixed = [good[0], bad[0], *good[1:3], bad[1], *good[3:], bad[2]]
    applied = await apply_batch(pool, batch(mixed), config(settings), rejected=rejected)
    assert applied == len(good)
    reasons = {event.id: reason for event, reason in rejected}
    assert set(reasons) == {e.id for e in bad}
    assert "another customer" in reasons[bad[0].id]
    assert "note" in reasons[bad[1].id] and "unreadable" in reasons[bad[1].id]
    assert "unreadable" in reasons[bad[2].id]
    assert NOTES not in " ".join(reasons.values())  # a reason never carries the text
    summaries = await pool.fetch(
        "SELECT customer_key, summary FROM timeline WHERE customer_key = ANY($1::text[])",
        list({e.subject for e in good}),
    )
    assert len(summaries) == len(good) and {r["summary"] for r in summaries} == {NOTES}
    ledger = await pool.fetchval(
        "SELECT count(*) FROM processed_events WHERE event_id = ANY($1::uuid[])",
        [uuid.UUID(e.id) for e in bad],
    )
    assert ledger == 0  # not recorded: a redelivery rejects them again, never skips them
    again: list[tuple[Envelope, str]] = []
    assert await apply_batch(pool, batch(mixed), config(settings), rejected=again) == 0
    assert {e.id for e, _ in again} == {e.id for e in bad}


async def test_the_projector_dead_letters_them_and_goes_on(
    settings: Settings,
    lane: Lane,  # noqa: F811
    unique: str,
) -> None:
    good, bad = await bad_events(settings)
    await publish(settings, lane, [*good[:2], *bad, *good[2:]])
    stop = asyncio.Event()
    projector = Projector(
        settings.kafka_bootstrap,
        settings.database_url,
        config(settings),
        topics=lane.topics,
        group_id=f"it-{unique}",
        schema=lane.schema,
        deadletter_topic=lane.deadletter,
    )
    task = asyncio.create_task(projector.run(stop))
    try:
        await until_ledger(settings, lane.schema, len(good))
        dead = await read_all(settings.kafka_bootstrap, lane.deadletter, expect=len(bad))
        assert not task.done()  # the loop goes on …
        later = await sealed_call(settings, datetime.now(UTC))
        await publish(settings, lane, later)
        await until_ledger(settings, lane.schema, len(good) + len(later))  # … and applies more
        assert not task.done()
    finally:
        stop.set()
        await task
    assert all(r.value for r in dead)  # the original bytes are kept
    headers = [dict(r.headers) for r in dead]
    assert len(dead) == len(bad)
    assert all(h["error.source"] == b"projector" for h in headers)
    assert all(b"sealed text" in h["error.reason"] for h in headers)
    assert {r.key for r in dead} == {e.subject.encode() for e in bad}
