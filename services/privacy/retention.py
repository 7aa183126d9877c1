"""Retention of free text (CONTACTMOMENT_TEXT_RETENTION_DAYS, default 2 years).

Run daily (`contactmoment privacy retention`): data keys of months wholly past the horizon
are deleted — their text on Kafka becomes unreadable — and the read model forgets the free
text of older events. Facts (that a contact happened, when, on which channel) stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from services.privacy.sealing import TEXT_FIELDS, period_of

STRIP = " ".join(f"- '{name}'" for name in TEXT_FIELDS)


@dataclass
class RetentionReport:
    horizon: datetime
    data_keys_deleted: int
    timeline_rows: int
    history_rows: int


def horizon_of(now: datetime, days: int) -> tuple[datetime, date]:
    """Text older than the horizon goes; keys of months that ended before it go."""
    horizon = now - timedelta(days=days)
    return horizon, period_of(horizon)


async def enforce(
    conn: asyncpg.Connection, now: datetime, days: int, dry_run: bool = False
) -> RetentionReport:
    horizon, first_kept = horizon_of(now, days)
    async with conn.transaction():
        keys = await conn.fetchval(
            "SELECT count(*) FROM privacy.data_keys WHERE period < $1", first_kept
        )
        timeline = await conn.fetchval(
            "SELECT count(*) FROM timeline WHERE occurred_at < $1 AND (summary IS NOT NULL"
            " OR data ?| $2)",
            horizon,
            list(TEXT_FIELDS),
        )
        history = await conn.fetchval(
            "SELECT count(*) FROM request_history WHERE occurred_at < $1 AND data ?| $2",
            horizon,
            list(TEXT_FIELDS),
        )
        if not dry_run:
            await conn.execute("DELETE FROM privacy.data_keys WHERE period < $1", first_kept)
            await conn.execute(
                f"UPDATE timeline SET summary = NULL, data = data {STRIP}"  # noqa: S608
                " WHERE occurred_at < $1 AND (summary IS NOT NULL OR data ?| $2)",
                horizon,
                list(TEXT_FIELDS),
            )
            await conn.execute(
                f"UPDATE request_history SET data = data {STRIP}"  # noqa: S608
                " WHERE occurred_at < $1 AND data ?| $2",
                horizon,
                list(TEXT_FIELDS),
            )
    if not dry_run:
        await conn.execute("VACUUM privacy.data_keys")
    return RetentionReport(horizon, keys, timeline, history)
