"""Two read models side by side: rows in one schema's table and not in the other's (a
replay's copy against the live tables).

Every column is compared except the wall-clock ones listed in UNCOMPARED: the columns are
read from the catalogue, so a column a migration adds (as 0004 added the provenance
`customer_identifiers.verified`) is compared without anyone remembering to list it.
"""

from __future__ import annotations

import asyncpg

from services.readmodel.migrate import valid_schema

COMPARED = (
    "customer_identifiers",
    "timeline",
    "requests",
    "request_history",
    "signals",
    "notifications",
    "access_log",
    "customers",
    "processed_events",
    "kpi_contrib",
    "kpi_daily",
)
"""Every table of the read model (a test checks that none is missing)."""

UNCOMPARED = {"processed_events": frozenset({"processed_at"})}
"""Columns that differ by design: when the projector applied an event is wall-clock time."""


class SchemasDiffer(ValueError):
    """The two schemas do not have the same columns: migrate both, then compare."""


async def _columns(conn: asyncpg.Connection, schema: str, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
        schema,
        table,
    )
    skipped = UNCOMPARED.get(table, frozenset())
    return [r["column_name"] for r in rows if r["column_name"] not in skipped]


async def differences(database_url: str, left: str, right: str) -> dict[str, int]:
    """Rows that are in one schema's table and not in the other's (0 everywhere: equal)."""
    left, right = valid_schema(left), valid_schema(right)
    conn = await asyncpg.connect(database_url)
    try:
        diff = {}
        for table in COMPARED:
            columns = await _columns(conn, left, table)
            if sorted(columns) != sorted(await _columns(conn, right, table)):
                raise SchemasDiffer(
                    f"{left}.{table} and {right}.{table} have different columns: "
                    "migrate both schemas (`contactmoment db migrate`) before comparing"
                )
            listed = ", ".join(f'"{c}"' for c in columns)
            a, b = f"{left}.{table}", f"{right}.{table}"
            diff[table] = await conn.fetchval(
                f"SELECT (SELECT count(*) FROM (SELECT {listed} FROM {a} EXCEPT ALL"  # noqa: S608
                f" SELECT {listed} FROM {b}) x) + (SELECT count(*) FROM (SELECT {listed}"
                f" FROM {b} EXCEPT ALL SELECT {listed} FROM {a}) y)"
            )
        return diff
    finally:
        await conn.close()
