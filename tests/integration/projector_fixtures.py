"""Private topics and schemas for projector tests, and a generator of realistic events."""

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg

from schemas.envelope import Envelope, encode, new_event
from schemas.events import (
    AccessLogged,
    Audience,
    DeadlineBreached,
    EventType,
    Notification,
    NotificationKind,
    RequestAnswered,
)
from schemas.keys import Pseudonymiser
from services.ingest.counter import CounterVisit, map_counter_visit
from services.ingest.phone import PhoneCall, map_phone_call
from services.ingest.web import WebSubmission, map_web_submission
from services.readmodel.migrate import migrate
from services.settings import Settings
from tests.e2e.people import valid_bsn


@asynccontextmanager
async def fresh_schemas(settings: Settings, *names: str) -> AsyncIterator[tuple[str, ...]]:
    """Read-model schemas of these names, migrated, and dropped afterwards."""
    for name in names:
        migrate(settings.database_url, name)
    try:
        yield names
    finally:
        conn = await asyncpg.connect(settings.database_url)
        try:
            for name in names:
                await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await conn.close()


def realistic_events(n_customers: int, seed: int) -> list[Envelope]:
    """Calls, visits and forms of returning customers, answers, a breach, a notification."""
    rng = random.Random(seed)
    p = Pseudonymiser(f"projector-test-{seed}-key")
    people = [
        (valid_bsn(rng), f"06{rng.randrange(10_000_000, 65_000_000)}") for _ in range(n_customers)
    ]
    t0 = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    events: list[Envelope] = []
    for i in range(n_customers * 4):
        bsn, phone = rng.choice(people)
        at = t0 + timedelta(minutes=7 * i)
        kind = i % 3
        if kind == 0:
            mapped = map_phone_call(
                PhoneCall.model_validate(
                    {
                        "call_id": f"{seed}-c{i}",
                        "direction": "inbound",
                        "caller": phone,
                        "started_at": at.isoformat(),
                        "queue": "KCC",
                        "bsn": bsn,
                        "outcome": rng.choice(["answered", "callback-requested"]),
                        "callback": {"phone": phone},
                    }
                ),
                p,
            )
        elif kind == 1:
            mapped = map_counter_visit(
                CounterVisit.model_validate(
                    {
                        "visit_id": f"{seed}-v{i}",
                        "location": "Stadskantoor",
                        "checked_in_at": at.isoformat(),
                        "product": "paspoort",
                        "bsn": bsn,
                        "outcome": "served",
                        "documents_issued": [{"kind": "passport", "valid_until": "2036-01-01"}],
                    }
                ),
                p,
            )
        else:
            mapped = map_web_submission(
                WebSubmission.model_validate(
                    {
                        "submission_id": f"{seed}-w{i}",
                        "form": "Vraag",
                        "submitted_at": at.isoformat(),
                        "auth": {"method": "digid", "bsn": bsn},
                        "contact": {
                            "email": f"p{i % n_customers}.{seed}@example.nl",
                            "phone": phone,
                        },
                        "subject": "afval",
                        "message": "vraag",
                        "request_type": "question",
                    }
                ),
                p,
            )
        events += mapped.events
    opened = [e for e in events if e.type is EventType.REQUEST_OPENED]
    for j, request in enumerate(opened[::3]):
        rid = request.data.request_id  # type: ignore[attr-defined]
        events.append(
            new_event(
                EventType.REQUEST_ANSWERED,
                source="urn:contactmoment:staff",
                source_id=f"ans-{j}",
                subject=request.subject,
                time=request.time + timedelta(hours=3),
                data=RequestAnswered(request_id=rid),
            )
        )
    first = opened[0]
    events.append(
        new_event(
            EventType.DEADLINE_BREACHED,
            source="urn:contactmoment:worker",
            source_id="b1",
            subject=first.subject,
            time=first.time + timedelta(days=3),
            data=DeadlineBreached(
                request_id=first.data.request_id,  # type: ignore[attr-defined]
                request_type="callback",
                department="KCC",
                opened_at=first.time,
                due_at=first.time + timedelta(days=2),
                norm="2 workdays",
                detected_at=first.time + timedelta(days=2),
            ),
        )
    )
    events.append(
        new_event(
            EventType.NOTIFICATION,
            source="urn:contactmoment:worker",
            source_id="n1",
            subject=first.subject,
            time=first.time + timedelta(days=3),
            data=Notification(
                notification_id="n1",
                kind=NotificationKind.CALLBACK_MISSED,
                audience=Audience.CUSTOMER,
                channel="phone",
                message="Sorry, we hebben u niet op tijd teruggebeld.",
            ),
        )
    )
    events.append(
        new_event(
            EventType.ACCESS_LOGGED,
            source="urn:contactmoment:api",
            source_id="a1",
            subject=first.subject,
            time=first.time + timedelta(days=4),
            data=AccessLogged(
                trace_id="0" * 31 + "1",
                span_id="0" * 15 + "1",
                name="klantbeeld raadplegen",
                endpoint="GET /v1/customers/{key}",
                purpose="Terugbellen en afspraken nakomen",
                staff_subject="medewerker-1",
                role="kcc",
            ),
        )
    )
    return events


def topic_for(event: Envelope, events_topic: str, signals: str, notifications: str) -> str:
    if event.type.value.startswith("nl.contactmoment.deadline."):
        return signals
    if event.type is EventType.NOTIFICATION:
        return notifications
    return events_topic


def records(events: list[Envelope]) -> list[tuple[bytes, bytes]]:
    return [(e.subject.encode(), encode(e)) for e in events]
