"""Retention of free text (CONTACTMOMENT_TEXT_RETENTION_DAYS, default 2 years).

Run daily (`contactmoment privacy retention`): data keys of months wholly past the horizon
are deleted — their text on Kafka becomes unreadable — and the read model forgets the free
text of older events (services/readmodel/retention.py). Facts (that a contact happened,
when, on which channel) stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from services.privacy.sealing import period_of
from services.readmodel.retention import forget


@dataclass
class RetentionReport:
    horizon: datetime
    data_keys_deleted: int
    timeline_rows: int
    history_rows: int
    identifiers: int


def horizon_of(now: datetime, days: int) -> tuple[datetime, date]:
    """Text older than the horizon goes; keys of months that ended before it go."""
    horizon = now - timedelta(days=days)
    return horizon, period_of(horizon)


async def enforce(
    conn: asyncpg.Connection, now: datetime, days: int, dry_run: bool = False
) -> RetentionReport:
    """Forget free text past the horizon; with `dry_run` only count what would go."""
    horizon, first_kept = horizon_of(now, days)
    gone = await forget(conn, horizon, first_kept, dry_run)
    return RetentionReport(
        horizon, gone.data_keys, gone.timeline_rows, gone.history_rows, gone.identifiers
    )
