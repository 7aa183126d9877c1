"""Retention of free text (CONTACTMOMENT_TEXT_RETENTION_DAYS, default 2 years).

Run daily (`contactmoment privacy retention`): data keys of months wholly past the horizon
are deleted — their text on Kafka becomes unreadable — and the read model forgets the free
text of older events. Facts (that a contact happened, when, on which channel) stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from services.privacy.sealing import ERASED, period_of


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


# What a replay makes of a row past the horizon (services/projector/unseal.py): optional
# text gone, a required reason and every masked identifier read ERASED. Retention makes the
# live rows the same, so live and replay agree.
FORGET_TEXT = (
    "data = (data - 'summary' - 'note' - 'comment')"
    " || CASE WHEN data ? 'reason' THEN jsonb_build_object('reason', $2::text) ELSE '{}' END"
    " || CASE WHEN jsonb_typeof(data->'identifiers') = 'array' THEN jsonb_build_object("
    "  'identifiers', (SELECT jsonb_agg(i || jsonb_build_object('masked', $2::text))"
    "  FROM jsonb_array_elements(data->'identifiers') i)) ELSE '{}' END"
)
HAS_TEXT = (
    "(data ?| array['summary', 'note', 'comment']"
    " OR (data ? 'reason' AND data->>'reason' <> $2)"
    " OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(data->'identifiers')"
    "  = 'array' THEN data->'identifiers' ELSE '[]' END) i WHERE i->>'masked' <> $2))"
)
# An identifier's display stays while a row within the horizon still shows it.
STALE_IDENTIFIERS = (
    "customer_identifiers ci WHERE ci.masked <> $2 AND NOT EXISTS (SELECT 1 FROM timeline t"
    " WHERE t.customer_key = ci.customer_key AND t.occurred_at >= $1"
    " AND t.data->'identifiers' @> jsonb_build_array(jsonb_build_object('hash', ci.hash)))"
)


async def enforce(
    conn: asyncpg.Connection, now: datetime, days: int, dry_run: bool = False
) -> RetentionReport:
    horizon, first_kept = horizon_of(now, days)
    old = f"occurred_at < $1 AND {HAS_TEXT}"
    async with conn.transaction():
        keys = await conn.fetchval(
            "SELECT count(*) FROM privacy.data_keys WHERE period < $1", first_kept
        )
        timeline = await conn.fetchval(
            f"SELECT count(*) FROM timeline WHERE {old} OR (occurred_at < $1 AND summary"  # noqa: S608
            " IS NOT NULL)",
            horizon,
            ERASED,
        )
        history = await conn.fetchval(
            f"SELECT count(*) FROM request_history WHERE {old}",  # noqa: S608
            horizon,
            ERASED,
        )
        identifiers = await conn.fetchval(
            f"SELECT count(*) FROM {STALE_IDENTIFIERS}",  # noqa: S608
            horizon,
            ERASED,
        )
        if not dry_run:
            await conn.execute("DELETE FROM privacy.data_keys WHERE period < $1", first_kept)
            await conn.execute(
                f"UPDATE timeline SET summary = NULL, {FORGET_TEXT}"  # noqa: S608
                f" WHERE {old} OR (occurred_at < $1 AND summary IS NOT NULL)",
                horizon,
                ERASED,
            )
            await conn.execute(
                f"UPDATE request_history SET {FORGET_TEXT} WHERE {old}",  # noqa: S608
                horizon,
                ERASED,
            )
            await conn.execute(
                f"UPDATE {STALE_IDENTIFIERS.replace(' WHERE ', ' SET masked = $2 WHERE ', 1)}",  # noqa: S608
                horizon,
                ERASED,
            )
    if not dry_run:
        await conn.execute("VACUUM privacy.data_keys")
    return RetentionReport(horizon, keys, timeline, history, identifiers)
