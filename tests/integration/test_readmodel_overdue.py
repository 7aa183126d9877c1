"""One meaning of *overdue* on the real database: the worklist, the regieteam's reach (scope)
and the requests_overdue gauge agree on it. Overdue is: still to be done (open or suspended)
and past due or breached; a closed request is not overdue, however late it was."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.readmodel import worklist
from services.readmodel.migrate import migrate
from services.settings import Settings

NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)

# name: (status, due_at, breached, overdue?)
CASES: dict[str, tuple[str, datetime | None, bool, bool]] = {
    "open past due": ("open", NOW - HOUR, False, True),
    "open not yet due": ("open", NOW + HOUR, False, False),
    "open, extended after its breach": ("open", NOW + HOUR, True, True),
    "suspended (clock stopped)": ("suspended", None, False, False),
    "suspended after its breach": ("suspended", None, True, True),
    "answered late, breached": ("answered", NOW - HOUR, True, False),
    "resolved past due": ("resolved", NOW - HOUR, False, False),
}


@pytest.fixture
async def conn(settings: Settings, unique: str) -> AsyncIterator[asyncpg.Connection]:
    schema = f"overdue_{unique}"
    migrate(settings.database_url, schema)
    connection = await asyncpg.connect(
        settings.database_url, server_settings={"search_path": schema}
    )
    try:
        yield connection
    finally:
        await connection.close()
        admin = await asyncpg.connect(settings.database_url)
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


def key_of_case(name: str) -> str:
    return "k-" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex


async def add_request(conn: asyncpg.Connection, name: str) -> str:
    status, due_at, breached, _ = CASES[name]
    request_id = f"r-{key_of_case(name)[2:14]}"
    closed = NOW - HOUR / 2 if status in worklist.CLOSED_STATUSES else None
    await conn.execute(
        "INSERT INTO requests (request_id, customer_key, request_type, subject, channel,"
        " department, opened_at, status, closed_at, due_at, updated_at)"
        " VALUES ($1, $2, 'callback', 'wmo', 'phone', 'Zorg', $3, $4, $5, $6, $3)",
        request_id,
        key_of_case(name),
        NOW - 3 * HOUR,
        status,
        closed,
        due_at,
    )
    if breached:
        await conn.execute(
            "INSERT INTO signals (event_id, request_id, customer_key, event_type, occurred_at,"
            " due_at, detected_at, data) VALUES ($1, $2, $3,"
            " 'nl.contactmoment.deadline.breached.v1', $4, $4, $4, '{}'::jsonb)",
            uuid.uuid4(),
            request_id,
            key_of_case(name),
            NOW - 2 * HOUR,
        )
    return request_id


async def test_worklist_scope_and_gauge_share_one_meaning_of_overdue(
    conn: asyncpg.Connection,
) -> None:
    ids = {name: await add_request(conn, name) for name in CASES}
    expected = {name for name, case in CASES.items() if case[3]}

    # the regieteam's worklist (GET /v1/requests?status=overdue)
    listed = await worklist.requests(conn, statuses=worklist.OPEN_STATUSES, overdue=True)
    assert {r["request_id"] for r in listed} == {ids[n] for n in expected}
    # … and without a status filter it is the same list: closed work is never overdue
    anything = await worklist.requests(conn, overdue=True)
    assert {r["request_id"] for r in anything} == {ids[n] for n in expected}

    # the regieteam's reach: a customer, and a request, it may read
    for name in CASES:
        _, by_customer = await worklist.scope(conn, keys=[key_of_case(name)])
        departments, by_request = await worklist.scope(conn, request_id=ids[name])
        assert departments == ["Zorg"]
        assert (by_customer, by_request) == (name in expected, name in expected), name

    # the gauges: open (or suspended) work, and how much of it is overdue
    open_count = sum(CASES[n][0] in worklist.OPEN_STATUSES for n in CASES)
    assert await worklist.open_and_overdue(conn) == {"callback": (open_count, len(expected))}
