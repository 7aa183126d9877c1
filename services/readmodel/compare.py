"""Two read models side by side: rows in one schema's table and not in the other's (a
replay's copy against the live tables)."""

from __future__ import annotations

import asyncpg

from services.readmodel.migrate import valid_schema

# Columns compared between two read models (processed_at is wall-clock, so it differs).
COMPARED = {
    "customer_identifiers": "customer_key, hash, kind, masked, first_seen",
    "timeline": "*",
    "requests": "*",
    "request_history": "*",
    "signals": "*",
    "notifications": "*",
    "access_log": "*",
    "customers": "*",
    "processed_events": "event_id, event_type, customer_key, source_topic",
}


async def differences(database_url: str, left: str, right: str) -> dict[str, int]:
    """Rows that are in one schema's table and not in the other's (0 everywhere: equal)."""
    conn = await asyncpg.connect(database_url)
    try:
        diff = {}
        for table, columns in COMPARED.items():
            a, b = f"{valid_schema(left)}.{table}", f"{valid_schema(right)}.{table}"
            diff[table] = await conn.fetchval(
                f"SELECT (SELECT count(*) FROM (SELECT {columns} FROM {a} EXCEPT ALL"  # noqa: S608
                f" SELECT {columns} FROM {b}) x) + (SELECT count(*) FROM (SELECT {columns}"
                f" FROM {b} EXCEPT ALL SELECT {columns} FROM {a}) y)"
            )
        return diff
    finally:
        await conn.close()
