"""Working time in Europe/Amsterdam: workdays, workhours, and calendar (ISO 8601) terms.

All arithmetic happens in local wall-clock time and is converted to an instant at the end,
so the DST weekends never shift a deadline by an hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_ISO = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class IsoDuration:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    seconds: float = 0.0  # hours, minutes and seconds together: absolute time

    @classmethod
    def parse(cls, text: str) -> IsoDuration:
        match = _ISO.match(text)
        if not match:
            raise ValueError(f"{text!r} is not an ISO 8601 duration such as P6W or PT30S")
        y, mo, w, d, h, mi, s = match.groups()
        return cls(
            int(y or 0),
            int(mo or 0),
            int(w or 0),
            int(d or 0),
            int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0),
        )

    @property
    def has_days(self) -> bool:
        return bool(self.years or self.months or self.weeks or self.days)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class WorkCalendar:
    """Workdays (Mon–Fri minus Dutch public holidays) and workhours on them."""

    day_start: time = time(8, 30)
    day_end: time = time(17, 0)
    liberation_day_every_year: bool = False
    """Bevrijdingsdag is a public holiday every fifth year by default; True: every year."""
    extra_closed: frozenset[date] = field(default_factory=frozenset)
    """Days declared equivalent to holidays by royal decree, or local closing days."""

    def __post_init__(self) -> None:
        if self.day_end <= self.day_start:
            raise ValueError("workhours must end after they start")

    @property
    def day_seconds(self) -> float:
        start = datetime.combine(date.min, self.day_start)
        return (datetime.combine(date.min, self.day_end) - start).total_seconds()

    def is_workday(self, day: date) -> bool:
        if day.weekday() >= 5 or day in self.extra_closed:
            return False
        return day not in _holidays(day.year, self.liberation_day_every_year)

    def next_workday(self, day: date) -> date:
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    # -- working-time arithmetic (local wall clock) -----------------------------------------

    def _local(self, instant: datetime) -> datetime:
        return instant.astimezone(AMSTERDAM).replace(tzinfo=None)

    @staticmethod
    def _instant(local: datetime) -> datetime:
        return local.replace(tzinfo=AMSTERDAM)

    def add_work_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant `seconds` of working time after `start` (ends inside workhours)."""
        local = self._local(start)
        remaining = seconds
        day = local.date()
        clock = local.time()
        while True:
            if self.is_workday(day) and clock < self.day_end:
                begin = max(clock, self.day_start)
                available = (
                    datetime.combine(day, self.day_end) - datetime.combine(day, begin)
                ).total_seconds()
                if remaining <= available:
                    return self._instant(
                        datetime.combine(day, begin) + timedelta(seconds=remaining)
                    )
                remaining -= available
            day += timedelta(days=1)
            clock = time(0)

    def work_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working time from `start` to `end` (0 when end is not after start)."""
        if end <= start:
            return 0.0
        a, b = self._local(start), self._local(end)
        total, day = 0.0, a.date()
        while day <= b.date():
            if self.is_workday(day):
                lo = max(datetime.combine(day, self.day_start), a)
                hi = min(datetime.combine(day, self.day_end), b)
                total += max(0.0, (hi - lo).total_seconds())
            day += timedelta(days=1)
        return total

    def add_calendar(self, start: datetime, duration: IsoDuration) -> datetime:
        """Calendar time: dates move in local time, hours/minutes/seconds absolutely.

        A term with days or longer that ends on a closed day moves to the next workday
        (Algemene termijnenwet), at the same time of day.
        """
        local = self._local(start)
        day = _add_months(local.date(), duration.years * 12 + duration.months)
        day += timedelta(weeks=duration.weeks, days=duration.days)
        moved = self._instant(datetime.combine(day, local.time()))
        result = moved.astimezone(AMSTERDAM) + timedelta(seconds=duration.seconds)
        if duration.has_days:
            result_local = self._local(result)
            if not self.is_workday(result_local.date()):
                result = self._instant(
                    datetime.combine(self.next_workday(result_local.date()), result_local.time())
                )
        return result.astimezone(AMSTERDAM)


@lru_cache(maxsize=256)
def _holidays(year: int, liberation_every_year: bool) -> frozenset[date]:
    categories = ("public", "optional") if liberation_every_year else ("public",)
    return frozenset(holidays.country_holidays("NL", years=year, categories=categories))
