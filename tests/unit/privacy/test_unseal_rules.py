"""Which events outlive their customer's erasure, and the retention horizon."""

from datetime import UTC, date, datetime, timedelta

import pytest

from schemas.envelope import Envelope, new_event
from schemas.events import (
    AccessLogged,
    ContactRecorded,
    DeadlineSignal,
    EventType,
    Notification,
    RequestAnswered,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser
from services.privacy.retention import horizon_of
from services.projector.unseal import survives

KEY = "k-" + "c" * 32
ERASED_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BEFORE = ERASED_AT - timedelta(hours=1)
AFTER = ERASED_AT + timedelta(seconds=1)
IDENT = Pseudonymiser("unit-test-pseudonym-key-0123").identifier(IdentifierKind.BSN, "111222333")


def at(event_type: EventType, data: object, time: datetime) -> Envelope:
    return new_event(
        event_type,
        source="urn:contactmoment:test",
        source_id=f"{event_type}-{time.isoformat()}",
        subject=KEY,
        time=time,
        data=data,  # type: ignore[arg-type]
    )


def contact(time: datetime) -> Envelope:
    data = ContactRecorded(
        channel="phone", direction="inbound", subject="s", outcome="o", identifiers=[IDENT]
    )
    return at(EventType.CONTACT_RECORDED, data, time)


def access(time: datetime) -> Envelope:
    data = AccessLogged(
        trace_id="a" * 32,
        span_id="b" * 16,
        name="klantbeeld raadplegen",
        endpoint="GET /v1/customers/{key}",
        purpose="klantcontact",
        staff_subject="medewerker-07",
        role="kcc",
    )
    return at(EventType.ACCESS_LOGGED, data, time)


def signal(time: datetime, request_id: str = "r-1") -> Envelope:
    data = DeadlineSignal(
        request_id=request_id,
        request_type="callback",
        opened_at=time - timedelta(days=3),
        due_at=time - timedelta(days=1),
        norm="P2D",
    )
    return at(EventType.DEADLINE_WARNING, data, time)


def notification(time: datetime, request_id: str | None = "r-1") -> Envelope:
    data = Notification(
        notification_id=f"n-{request_id}",
        kind="callback-missed",
        audience="staff",
        request_id=request_id,
        message="terugbelverzoek gemist",
    )
    return at(EventType.NOTIFICATION, data, time)


def test_without_an_erasure_everything_survives() -> None:
    for e in (contact(BEFORE), signal(BEFORE), notification(BEFORE), access(BEFORE)):
        assert survives(e, None, set())
        assert survives(e, None, set(), produced=BEFORE)


def test_access_events_always_survive() -> None:
    assert survives(access(BEFORE), ERASED_AT, set(), produced=BEFORE)
    assert survives(access(ERASED_AT), ERASED_AT, set(), produced=ERASED_AT)
    assert survives(access(BEFORE), ERASED_AT, set())


@pytest.mark.parametrize("produced", [BEFORE, ERASED_AT], ids=["before", "at"])
def test_produced_before_or_at_the_erasure_is_dropped(produced: datetime) -> None:
    assert not survives(contact(BEFORE), ERASED_AT, set(), produced=produced)
    # the produce time decides, not the event time
    assert not survives(contact(AFTER), ERASED_AT, set(), produced=produced)
    assert not survives(signal(AFTER), ERASED_AT, {"r-1"}, produced=produced)
    assert not survives(notification(AFTER), ERASED_AT, {"r-1"}, produced=produced)


def test_produced_after_the_erasure_survives_even_when_it_happened_before() -> None:
    """A late report of an earlier call is new data, recorded after the erasure."""
    assert survives(contact(BEFORE), ERASED_AT, set(), produced=AFTER)
    answered = at(EventType.REQUEST_ANSWERED, RequestAnswered(request_id="r-9"), BEFORE)
    assert survives(answered, ERASED_AT, set(), produced=AFTER)


def test_without_a_produce_time_the_event_time_decides() -> None:
    assert not survives(contact(BEFORE), ERASED_AT, set(), produced=None)
    assert not survives(contact(ERASED_AT), ERASED_AT, set(), produced=None)
    assert survives(contact(AFTER), ERASED_AT, set(), produced=None)


def test_a_signal_or_notification_after_the_erasure_needs_a_request_that_still_exists() -> None:
    for make in (signal, notification):
        assert survives(make(BEFORE), ERASED_AT, {"r-1"}, produced=AFTER)
        assert not survives(make(BEFORE), ERASED_AT, {"r-2"}, produced=AFTER)
        assert not survives(make(BEFORE), ERASED_AT, set(), produced=AFTER)
        assert not survives(make(AFTER), ERASED_AT, set())
        assert survives(make(AFTER), ERASED_AT, {"r-1"})


def test_a_notification_about_no_request_survives_after_the_erasure() -> None:
    assert survives(notification(AFTER, request_id=None), ERASED_AT, set())
    assert not survives(notification(BEFORE, request_id=None), ERASED_AT, set())


@pytest.mark.parametrize(
    ("now", "days", "horizon", "first_kept"),
    [
        # 2024 is a leap year, but 29 February lies before the horizon: 730 days = 2 years
        (
            datetime(2026, 3, 10, 8, 30, tzinfo=UTC),
            730,
            datetime(2024, 3, 10, 8, 30, tzinfo=UTC),
            date(2024, 3, 1),
        ),
        # here it lies inside the window: 730 days reach one day further than 2 years
        (
            datetime(2026, 2, 10, 8, 30, tzinfo=UTC),
            730,
            datetime(2024, 2, 11, 8, 30, tzinfo=UTC),
            date(2024, 2, 1),
        ),
        (
            datetime(2026, 3, 31, 23, 0, tzinfo=UTC),
            30,
            datetime(2026, 3, 1, 23, 0, tzinfo=UTC),
            date(2026, 3, 1),
        ),
        (
            datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
            1,
            datetime(2026, 2, 28, 0, 0, tzinfo=UTC),
            date(2026, 2, 1),
        ),
    ],
)
def test_horizon_and_first_kept_month(
    now: datetime, days: int, horizon: datetime, first_kept: date
) -> None:
    assert horizon_of(now, days) == (horizon, first_kept)
