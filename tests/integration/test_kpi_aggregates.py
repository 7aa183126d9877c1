"""The incremental KPI aggregates give exactly the from-scratch figures: a varied history
(lifecycles with acknowledgements, interim updates, suspensions, extensions, reopenings,
withdrawals, late and out-of-order events, duplicates) projected through apply_batch in
shuffled batches, then many windows, incl. edges on midnights and on event instants,
compared with the reference count over the window's rows. Projected a second time in
another order and batching, the aggregate tables are row for row the same."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from schemas.envelope import Envelope, new_event
from schemas.events import (
    ContactRecorded,
    DeadlineSignal,
    EventType,
    FeedbackGiven,
    Notification,
    RequestAcknowledged,
    RequestAnswered,
    RequestExtended,
    RequestInterimUpdate,
    RequestOpened,
    RequestReopened,
    RequestResolved,
    RequestResumed,
    RequestSuspended,
    RequestWithdrawn,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from services.projector.apply import ProjectionConfig, apply_batch
from services.readmodel import kpis
from services.readmodel.compare import differences
from services.readmodel.pool import connect_pool
from services.settings import Settings
from tests.integration.projector_fixtures import fresh_schemas

T0 = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # a Monday; the history spans ~10 weeks
P = Pseudonymiser("kpi-aggregate-test-key-0123")
TOPIC = "contact.events.v1"
SUBJECTS = ("paspoort", "afval", "parkeren", "bijstand")
TYPES = ("question", "callback", "complaint", "application", "report")


def history(seed: int) -> list[Envelope]:
    """Customers with contacts, requests with random lifecycles, signals, notifications."""
    rnd = random.Random(seed)
    out: list[Envelope] = []
    n = 0

    def at(base: datetime, hours: float) -> datetime:
        return base + timedelta(hours=hours, seconds=rnd.randrange(3600))

    def ev(kind: EventType, key: str, when: datetime, data: object) -> None:
        nonlocal n
        n += 1
        out.append(
            new_event(
                kind,
                source="urn:contactmoment:test",
                source_id=f"e{n}",
                subject=key,
                time=when,
                data=data,  # type: ignore[arg-type]
            )
        )

    for c in range(40):
        ident = P.identifier(IdentifierKind.EMAIL, f"klant{c}@example.nl")
        key = customer_key([ident])
        for _ in range(rnd.randrange(1, 8)):  # contacts, some about nothing, some inbound
            ev(
                EventType.CONTACT_RECORDED,
                key,
                at(T0, rnd.uniform(0, 24 * 70)),
                ContactRecorded(
                    channel=rnd.choice(("phone", "counter", "web", "email")),
                    direction=rnd.choice(("inbound", "inbound", "outbound")),
                    subject=rnd.choice(SUBJECTS),
                    outcome=rnd.choice(("answered", "served", "forwarded")),
                    identifiers=[ident],
                ),
            )
        for r in range(rnd.randrange(0, 6)):
            rid = f"req-{seed}-{c}-{r}"
            rtype = rnd.choice(TYPES)
            t = at(T0, rnd.uniform(0, 24 * 60))
            ev(
                EventType.REQUEST_OPENED,
                key,
                t,
                RequestOpened(
                    request_id=rid,
                    request_type=rtype,
                    subject=rnd.choice(SUBJECTS),
                    channel=rnd.choice(("phone", "counter", "web", "email")),
                    department=rnd.choice(("burgerzaken", "belastingen", None)),
                ),
            )
            if rnd.random() < 0.6:
                ev(
                    EventType.REQUEST_ACKNOWLEDGED,
                    key,
                    at(t, rnd.uniform(0, 120)),
                    RequestAcknowledged(request_id=rid),
                )
            if rnd.random() < 0.3:
                ev(
                    EventType.REQUEST_INTERIM_UPDATE,
                    key,
                    at(t, rnd.uniform(24, 400)),
                    RequestInterimUpdate(request_id=rid),
                )
            if rnd.random() < 0.3:
                ev(
                    EventType.CONTACT_RECORDED,
                    key,
                    at(t, rnd.uniform(1, 500)),
                    ContactRecorded(
                        channel="phone",
                        direction="outbound",
                        subject="terugbellen",
                        outcome="answered",
                        identifiers=[ident],
                        request_id=rid,
                    ),
                )
            if rnd.random() < 0.2:
                s = at(t, rnd.uniform(2, 100))
                ev(EventType.REQUEST_SUSPENDED, key, s, RequestSuspended(request_id=rid))
                if rnd.random() < 0.8:
                    ev(
                        EventType.REQUEST_RESUMED,
                        key,
                        at(s, rnd.uniform(1, 300)),
                        RequestResumed(request_id=rid),
                    )
            if rnd.random() < 0.15:
                ev(
                    EventType.REQUEST_EXTENDED,
                    key,
                    at(t, rnd.uniform(5, 150)),
                    RequestExtended(request_id=rid, extension="P1W"),
                )
            fate = rnd.random()
            if fate < 0.15:  # withdrawn, often soon
                ev(
                    EventType.REQUEST_WITHDRAWN,
                    key,
                    at(t, rnd.choice((1, 30, 300))),
                    RequestWithdrawn(request_id=rid),
                )
            elif fate < 0.85:
                a = at(t, rnd.uniform(1, 900))
                ev(EventType.REQUEST_ANSWERED, key, a, RequestAnswered(request_id=rid))
                if rnd.random() < 0.4:
                    ev(
                        EventType.REQUEST_RESOLVED,
                        key,
                        at(a, rnd.uniform(1, 200)),
                        RequestResolved(request_id=rid),
                    )
                elif rnd.random() < 0.2:
                    ro = at(a, rnd.uniform(1, 100))
                    ev(
                        EventType.REQUEST_REOPENED,
                        key,
                        ro,
                        RequestReopened(request_id=rid, reason="niet opgelost"),
                    )
                    if rnd.random() < 0.7:
                        ev(
                            EventType.REQUEST_ANSWERED,
                            key,
                            at(ro, rnd.uniform(1, 300)),
                            RequestAnswered(request_id=rid),
                        )
                if rnd.random() < 0.3:
                    ev(
                        EventType.FEEDBACK_GIVEN,
                        key,
                        at(a, rnd.uniform(1, 300)),
                        FeedbackGiven(request_id=rid, score=rnd.randint(1, 5)),
                    )
            if rnd.random() < 0.2:
                ev(
                    rnd.choice((EventType.DEADLINE_ESCALATED, EventType.DEADLINE_WARNING)),
                    key,
                    at(t, rnd.uniform(24, 600)),
                    DeadlineSignal(
                        request_id=rid,
                        request_type=rtype,
                        opened_at=t,
                        due_at=t + timedelta(days=5),
                        norm=rtype,
                    ),
                )
        for k in range(rnd.randrange(0, 3)):
            ev(
                EventType.NOTIFICATION,
                key,
                at(T0, rnd.uniform(0, 24 * 70)),
                Notification(
                    notification_id=f"n-{seed}-{c}-{k}",
                    kind=rnd.choice(("repeat-contact", "interim-update-due", "callback-missed")),
                    audience=rnd.choice(("customer", "staff")),
                    message="bericht",
                ),
            )
    return out


async def project(
    pool: asyncpg.Pool, config: ProjectionConfig, events: list[Envelope], seed: int
) -> None:
    """Shuffled (answers before openings, late events), in random batches, with repeats."""
    rnd = random.Random(seed)
    todo = events[:]
    rnd.shuffle(todo)
    i = 0
    while i < len(todo):
        size = rnd.randrange(1, 60)
        batch = todo[i : i + size]
        batch += rnd.sample(todo[: i + size], k=min(3, i + size))  # duplicates, old and new
        rejected: list[tuple[Envelope, str]] = []
        await apply_batch(pool, [(TOPIC, e) for e in batch], config, rejected=rejected)
        assert not rejected
        i += size


def windows(seed: int, events: list[Envelope]) -> list[tuple[datetime, datetime]]:
    rnd = random.Random(seed)
    instants = [e.time for e in events]
    midnight = datetime(2026, 3, 1, tzinfo=UTC)
    out = [(midnight, midnight + timedelta(days=90)), (T0, T0 + timedelta(seconds=1))]
    # Windows reaching past the newest event (as "the last 30 days" does): the repeat-contact
    # denominator is then read from the customers' last inbound contact, not the timeline.
    last = max(instants)
    out += [(a, last + timedelta(seconds=1)) for a in sorted(rnd.sample(instants, 5))]
    out += [(midnight, last + timedelta(days=400)), (last, last + timedelta(seconds=1))]
    for _ in range(60):
        kind = rnd.random()
        if kind < 0.3:  # both on event instants
            a, b = sorted(rnd.sample(instants, 2))
            if a == b:
                continue
        elif kind < 0.5:  # midnight to midnight
            a = midnight + timedelta(days=rnd.randrange(0, 80))
            b = a + timedelta(days=rnd.randrange(1, 30))
        elif kind < 0.7:  # shorter than a day
            a = midnight + timedelta(seconds=rnd.randrange(0, 80 * 86400))
            b = a + timedelta(seconds=rnd.randrange(1, 86400))
        else:  # arbitrary, up to the whole history
            a = midnight + timedelta(seconds=rnd.randrange(0, 80 * 86400))
            b = a + timedelta(seconds=rnd.randrange(1, 90 * 86400))
        out.append((a, b))
    return out


@pytest.fixture
async def schemas(settings: Settings, unique: str) -> AsyncIterator[tuple[str, ...]]:
    async with fresh_schemas(settings, f"kpi_a_{unique}", f"kpi_b_{unique}") as names:
        yield names


async def test_aggregates_equal_the_from_scratch_figures_and_rebuild_identically(
    settings: Settings, schemas: tuple[str, str]
) -> None:
    config = ProjectionConfig.from_settings(settings)
    events = history(seed=7)
    first, second = schemas
    pool = await connect_pool(settings.database_url, first)
    try:
        await project(pool, config, events, seed=1)
        async with pool.acquire() as conn:
            checked = 0
            for start, end in windows(3, events):
                got = await kpis.compute(conn, config.catalogue, start, end)
                want = await kpis.compute_from_scratch(conn, config.catalogue, start, end)
                assert got == want, (start, end)
                checked += bool(want["betrouwbaar"]["answered_within_norm"])
            assert checked > 20  # the windows are not all empty
            long_open = await kpis.compute(conn, config.catalogue, T0, T0 + timedelta(days=60))
            assert long_open["duidelijk"]["long_open_with_interim_update"]["denominator"] > 10
            brief = await conn.fetchval(
                "SELECT count(*) FROM kpi_contrib WHERE metric = 'long_open_brief'"
            )
            assert brief > 0  # the rare case is exercised too
    finally:
        await pool.close()
    pool = await connect_pool(settings.database_url, second)
    try:
        await project(pool, config, events, seed=2)
    finally:
        await pool.close()
    diff = await differences(settings.database_url, first, second)
    assert diff["kpi_contrib"] == 0
    assert diff["kpi_daily"] == 0
