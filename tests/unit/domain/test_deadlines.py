"""A request's clock instants from its norm and history (the lifecycle fold): real dates and
properties."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from domain.clock.calendar import AMSTERDAM
from domain.clock.lifecycle import fold
from domain.clock.norms import load
from domain.clock.terms import Step

CATALOGUE = load(Path(__file__).parents[3] / "deploy" / "config" / "service-norms.toml")
CAL = CATALOGUE.calendar
CALLBACK = CATALOGUE.lookup("callback")
COMPLAINT = CATALOGUE.lookup("complaint")


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def test_callback_opened_before_koningsdag() -> None:
    s = fold(CALLBACK, CAL, [Step("opened", ams(2026, 4, 24, 15))])
    assert s.due_at == ams(2026, 4, 29, 15)
    assert s.warn_at == ams(2026, 4, 29, 10, 45)  # 75 % of 17 workhours
    assert s.escalate_at == ams(2026, 4, 30, 15)
    assert s.status == "open"


def test_answered_closes_the_clock() -> None:
    s = fold(
        CALLBACK, CAL, [Step("opened", ams(2026, 4, 24, 15)), Step("answered", ams(2026, 4, 28, 9))]
    )
    assert s.status == "answered" and s.closed_at == ams(2026, 4, 28, 9)
    assert not s.running and s.warn_at is s.escalate_at is s.interim_due_at is None
    assert s.due_at == ams(2026, 4, 29, 15)  # kept: what "answered in time" is measured against


def test_suspension_stops_the_clock_and_resumption_continues_it() -> None:
    steps = [
        Step("opened", ams(2026, 11, 30, 9)),  # Monday 09:00, due Wednesday 09:00
        Step("suspended", ams(2026, 11, 30, 13)),
    ]
    suspended = fold(CALLBACK, CAL, steps)
    assert suspended.status == "suspended" and suspended.due_at is None
    resumed = fold(CALLBACK, CAL, [*steps, Step("resumed", ams(2026, 12, 2, 9))])
    # 4 of 17 workhours used; 13 left from Wednesday 09:00 → Thursday 13:30.
    assert resumed.due_at == ams(2026, 12, 3, 13, 30)


def test_complaint_extension_and_acknowledgement() -> None:
    opened = [Step("opened", ams(2026, 4, 24, 15))]
    assert fold(COMPLAINT, CAL, opened).due_at == ams(2026, 6, 5, 15)
    assert fold(COMPLAINT, CAL, opened).acknowledge_due_at == ams(2026, 5, 4, 15)
    extended = fold(
        COMPLAINT,
        CAL,
        [
            *opened,
            Step("extended", ams(2026, 5, 1, 9), "P4W"),
            Step("acknowledged", ams(2026, 4, 28, 9)),
        ],
    )
    assert extended.due_at == ams(2026, 7, 3, 15)
    assert extended.acknowledge_due_at is None


def test_reopened_request_gets_a_fresh_term() -> None:
    s = fold(
        CALLBACK,
        CAL,
        [
            Step("opened", ams(2026, 11, 2, 9)),
            Step("answered", ams(2026, 11, 3, 9)),
            Step("reopened", ams(2026, 11, 30, 9)),
        ],
    )
    assert s.status == "open" and s.due_at == ams(2026, 12, 2, 9)
    assert s.opened_at == ams(2026, 11, 2, 9)


def test_interim_timer_restarts_on_outbound_contact() -> None:
    steps = [Step("opened", ams(2026, 11, 2, 9)), Step("outbound", ams(2026, 11, 5, 9))]
    assert fold(CALLBACK, CAL, steps).interim_due_at == ams(2026, 11, 12, 9)


opened_at = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)


@given(opened_at, st.sampled_from(["callback", "question", "report", "complaint", "application"]))
def test_due_is_never_before_opened_and_warning_comes_first(at: datetime, rtype: str) -> None:
    s = fold(CATALOGUE.lookup(rtype), CAL, [Step("opened", at)])
    assert s.due_at is not None and s.warn_at is not None and s.escalate_at is not None
    assert at < s.warn_at < s.due_at < s.escalate_at
    assert CAL.is_workday(s.due_at.astimezone(AMSTERDAM).date())


@given(opened_at, st.floats(min_value=0, max_value=40), st.floats(min_value=0.01, max_value=30))
def test_suspending_for_d_never_brings_due_earlier(
    at: datetime, after_h: float, days: float
) -> None:
    plain = fold(CALLBACK, CAL, [Step("opened", at)])
    assert plain.due_at is not None
    suspend = at + timedelta(hours=after_h)
    if suspend >= plain.due_at:
        return
    resumed = fold(
        CALLBACK,
        CAL,
        [
            Step("opened", at),
            Step("suspended", suspend),
            Step("resumed", suspend + timedelta(days=days)),
        ],
    )
    assert resumed.due_at is not None and resumed.due_at >= plain.due_at
