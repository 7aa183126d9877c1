"""Working time in real Dutch dates: holidays, Bevrijdingsdag, DST weekends, Atw."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.clock.calendar import AMSTERDAM, IsoDuration, WorkCalendar

CAL = WorkCalendar()
DAY = CAL.day_seconds  # 8.5 hours


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2026, 4, 27), False),  # Koningsdag (Monday)
        (date(2026, 5, 14), False),  # Hemelvaartsdag
        (date(2026, 5, 25), False),  # Tweede Pinksterdag
        (date(2026, 12, 25), False),  # Eerste Kerstdag
        (date(2026, 12, 26), False),  # Tweede Kerstdag (Saturday anyway)
        (date(2027, 1, 1), False),  # Nieuwjaarsdag
        (date(2026, 4, 6), False),  # Tweede Paasdag
        (date(2026, 5, 5), True),  # Bevrijdingsdag, not a lustrum year
        (date(2025, 5, 5), False),  # Bevrijdingsdag, lustrum year
        (date(2026, 11, 30), True),  # an ordinary Monday
        (date(2026, 11, 29), False),  # Sunday
    ],
)
def test_dutch_workdays(day: date, workday: bool) -> None:
    assert CAL.is_workday(day) is workday


def test_bevrijdingsdag_every_year_and_extra_closed_days_are_configurable() -> None:
    every_year = WorkCalendar(
        liberation_day_every_year=True, extra_closed=frozenset({date(2026, 12, 24)})
    )
    assert not every_year.is_workday(date(2026, 5, 5))
    assert not every_year.is_workday(date(2026, 12, 24))
    assert CAL.is_workday(date(2026, 12, 24))


def test_two_workdays_over_koningsdag() -> None:
    # Friday 15:00 + 2 workdays: 2 h Friday, Monday is Koningsdag, all of Tuesday, 6.5 h Wednesday.
    assert CAL.add_work_seconds(ams(2026, 4, 24, 15), 2 * DAY) == ams(2026, 4, 29, 15)


def test_five_workdays_over_hemelvaart() -> None:
    # Wednesday 13 May 10:00 + 5 workdays skips Hemelvaart (Thu 14) and the weekend.
    assert CAL.add_work_seconds(ams(2026, 5, 13, 10), 5 * DAY) == ams(2026, 5, 21, 10)


def test_christmas_and_new_year() -> None:
    # Thursday 24 Dec 16:00 + 1 workday: 1 h Thursday, 25/26 Dec and weekend closed, 7.5 h Monday.
    assert CAL.add_work_seconds(ams(2026, 12, 24, 16), DAY) == ams(2026, 12, 28, 16)
    assert CAL.add_work_seconds(ams(2026, 12, 31, 12), DAY) == ams(2027, 1, 4, 12)


def test_outside_workhours_the_clock_starts_next_workday_morning() -> None:
    assert CAL.add_work_seconds(ams(2026, 11, 28, 22), 3600) == ams(2026, 11, 30, 9, 30)
    assert CAL.add_work_seconds(ams(2026, 11, 30, 7), 16 * 3600) == ams(2026, 12, 1, 16, 0)


@pytest.mark.parametrize("friday", [ams(2026, 3, 27, 10), ams(2026, 10, 23, 10)])
def test_dst_weekends_do_not_shift_a_deadline(friday: datetime) -> None:
    due = CAL.add_work_seconds(friday, DAY)
    assert due.astimezone(AMSTERDAM).time() == time(10)
    assert due.astimezone(AMSTERDAM).date() == friday.date() + timedelta(days=3)
    week = CAL.add_calendar(friday, IsoDuration.parse("P1W"))
    assert week.astimezone(AMSTERDAM).time() == time(10)


def test_calendar_terms_end_on_a_workday_algemene_termijnenwet() -> None:
    # Six weeks from Friday 24 April lands on Friday 5 June: a workday, stays.
    assert CAL.add_calendar(ams(2026, 4, 24, 15), IsoDuration.parse("P6W")) == ams(2026, 6, 5, 15)
    # One week from Monday 18 May lands on Pinkstermaandag 25 May: moves to Tuesday.
    assert CAL.add_calendar(ams(2026, 5, 18, 9), IsoDuration.parse("P1W")) == ams(2026, 5, 26, 9)
    # Seconds are absolute and never moved.
    assert CAL.add_calendar(ams(2026, 5, 23, 9), IsoDuration.parse("PT30S")) == ams(
        2026, 5, 23, 9, 0, 30
    )


def test_months_clamp_to_the_end_of_month() -> None:
    assert CAL.add_calendar(ams(2026, 1, 30, 9), IsoDuration.parse("P1M")) == ams(2026, 3, 2, 9)


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@given(instants, st.floats(min_value=1, max_value=40 * 8.5 * 3600))
def test_work_terms_end_inside_workhours_on_a_workday(start: datetime, seconds: float) -> None:
    end = CAL.add_work_seconds(start, seconds).astimezone(AMSTERDAM)
    assert end > start
    assert CAL.is_workday(end.date())
    assert time(8, 30) < end.time() <= time(17)


@given(instants, st.floats(min_value=0, max_value=20 * 8.5 * 3600))
def test_working_time_between_inverts_adding_it(start: datetime, seconds: float) -> None:
    end = CAL.add_work_seconds(start, seconds)
    assert CAL.work_seconds_between(start, end) == pytest.approx(seconds, abs=1e-3)


@given(instants, st.integers(1, 12), st.sampled_from(["D", "W", "M"]))
def test_day_terms_never_end_on_a_closed_day(start: datetime, n: int, unit: str) -> None:
    end = CAL.add_calendar(start, IsoDuration.parse(f"P{n}{unit}"))
    assert CAL.is_workday(end.astimezone(AMSTERDAM).date())
    assert end > start


def test_invalid_iso_durations_are_refused() -> None:
    for text in ("P", "6 weeks", "PT", "P1.5W"):
        with pytest.raises(ValueError, match="ISO 8601"):
            IsoDuration.parse(text)
