"""The read model's side of retention: forget free text past the horizon, delete the data
keys of months wholly before it. Facts (that a contact happened, when, on which channel)
stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from schemas.sealed import ERASED, OPTIONAL_TEXT, REQUIRED_TEXT
from services.readmodel.erasure import vacuum_data_keys


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{name}'" for name in names)


# What a replay makes of a row past the horizon (services/projector/unseal.py): optional
# text gone, a required text and every masked identifier read ERASED. Retention makes the
# live rows the same, so live and replay agree. ($1: the horizon, $2: ERASED)
FORGET_TEXT = (
    "data = (data - array[" + _quoted(OPTIONAL_TEXT) + "])"  # noqa: S608 - field names from sealing.py
    " || (SELECT coalesce(jsonb_object_agg(key, $2::text), '{}') FROM jsonb_object_keys(data) key"
    "  WHERE key IN (" + _quoted(REQUIRED_TEXT) + "))"
    " || CASE WHEN jsonb_typeof(data->'identifiers') = 'array' THEN jsonb_build_object("
    "  'identifiers', (SELECT jsonb_agg(i || jsonb_build_object('masked', $2::text))"
    "  FROM jsonb_array_elements(data->'identifiers') i)) ELSE '{}' END"
)
HAS_TEXT = (
    "(data ?| array[" + _quoted(OPTIONAL_TEXT) + "]"  # noqa: S608 - field names from sealing.py
    " OR EXISTS (SELECT 1 FROM jsonb_each_text(data) f WHERE f.key IN ("
    + _quoted(REQUIRED_TEXT)
    + ") AND f.value <> $2)"
    " OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(data->'identifiers')"
    "  = 'array' THEN data->'identifiers' ELSE '[]' END) i WHERE i->>'masked' <> $2))"
)
OLD_TEXT = f"occurred_at < $1 AND ({HAS_TEXT} OR summary IS NOT NULL)"
# An identifier's display stays while a row within the horizon still shows it.
STALE_IDENTIFIER = (
    "masked <> $2 AND NOT EXISTS (SELECT 1 FROM timeline t"
    " WHERE t.customer_key = customer_identifiers.customer_key AND t.occurred_at >= $1"
    " AND t.data->'identifiers' @> jsonb_build_array("
    "  jsonb_build_object('hash', customer_identifiers.hash)))"
)
# (table, what forgetting changes, which rows).
FORGETTING = (
    ("timeline", f"summary = NULL, {FORGET_TEXT}", OLD_TEXT),
    ("request_history", FORGET_TEXT, f"occurred_at < $1 AND {HAS_TEXT}"),
    ("customer_identifiers", "masked = $2", STALE_IDENTIFIER),
)


@dataclass(frozen=True)
class Forgotten:
    """What retention removed (or, on a dry run, would remove)."""

    data_keys: int
    timeline_rows: int
    history_rows: int
    identifiers: int


async def forget(
    conn: asyncpg.Connection, horizon: datetime, first_kept: date, dry_run: bool = False
) -> Forgotten:
    """Forget text older than `horizon` and data keys of months before `first_kept`, in one
    transaction; with `dry_run` only count what would go."""
    counts = []
    async with conn.transaction():
        if dry_run:
            keys = await conn.fetchval(
                "SELECT count(*) FROM privacy.data_keys WHERE period < $1", first_kept
            )
        else:
            status = await conn.execute(
                "DELETE FROM privacy.data_keys WHERE period < $1", first_kept
            )
            keys = int(status.split()[-1])
        for table, changes, rows in FORGETTING:
            if dry_run:
                sql = f"SELECT count(*) FROM {table} WHERE {rows}"  # noqa: S608 - fixed names
                counts.append(await conn.fetchval(sql, horizon, ERASED))
            else:
                sql = f"UPDATE {table} SET {changes} WHERE {rows}"  # noqa: S608 - fixed names
                counts.append(int((await conn.execute(sql, horizon, ERASED)).split()[-1]))
    if not dry_run:
        await vacuum_data_keys(conn)
    return Forgotten(int(keys), *counts)
