"""A due instant as words for a page, in Dutch at B1 level: 'nog 3 uur', 'nog 2
werkdagen', '2 werkdagen te laat'.

Days count in working time (the calendar's workdays and workhours, as the terms do);
anything under a day in hours or minutes of the clock, which is what someone who has to
call back today wants to know.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from domain.clock.calendar import WorkCalendar

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _short(span: timedelta) -> str:
    """Under a day: whole hours, or minutes under an hour (at least 1)."""
    if span < HOUR:
        return _count(max(1, math.floor(span / timedelta(minutes=1))), "minuut", "minuten")
    return f"{math.floor(span / HOUR)} uur"


def due_in_words(due: datetime, now: datetime, calendar: WorkCalendar) -> str:
    """How long until `due`, or how late it is, seen at `now`."""
    workdays = math.floor(
        calendar.work_seconds_between(min(due, now), max(due, now)) / calendar.day_seconds
    )
    if due >= now:
        if due - now < DAY or workdays < 1:
            return f"nog {_short(due - now)}"
        return f"nog {_count(workdays, 'werkdag', 'werkdagen')}"
    if now - due < DAY or workdays < 1:
        return f"{_short(now - due)} te laat"
    return f"{_count(workdays, 'werkdag', 'werkdagen')} te laat"
