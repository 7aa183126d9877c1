"""The COPY form of the projector's bulk writes (COPY into a staging table, then one
INSERT … SELECT with the same ON CONFLICT) writes exactly what the unnest form writes: the
same varied history projected once with every table by unnest and once with every table by
COPY gives the same rows in every table, KPI aggregates included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from schemas.envelope import Envelope, new_event
from schemas.events import AccessLogged, EventType
from services.projector.apply import ProjectionConfig
from services.readmodel import writes
from services.readmodel.compare import differences
from services.readmodel.pool import connect_pool
from services.settings import Settings
from tests.integration.projector_fixtures import fresh_schemas
from tests.integration.test_kpi_aggregates import history, project


def with_reads(events: list[Envelope]) -> list[Envelope]:
    """The history plus a staff read of every customer in it (the access log's rows)."""
    subjects = sorted({e.subject for e in events})
    return events + [
        new_event(
            EventType.ACCESS_LOGGED,
            source="urn:contactmoment:api",
            source_id=f"a{n}",
            subject=subject,
            time=max(e.time for e in events),
            data=AccessLogged(
                trace_id=f"{n:032x}",
                span_id=f"{n:016x}",
                name="klantbeeld raadplegen",
                endpoint="GET /v1/customers/{key}",
                purpose="Terugbellen en afspraken nakomen",
                staff_subject="medewerker-1",
                role="kcc",
            ),
        )
        for n, subject in enumerate(subjects, start=1)
    ]


@pytest.fixture
async def schemas(settings: Settings, unique: str) -> AsyncIterator[tuple[str, ...]]:
    async with fresh_schemas(settings, f"bulk_unnest_{unique}", f"bulk_copy_{unique}") as names:
        yield names


async def test_copy_and_unnest_write_the_same_rows(
    settings: Settings, schemas: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ProjectionConfig.from_settings(settings)
    events = with_reads(history(seed=11))
    copied: list[str] = []
    real_copy = writes._copy

    async def counting_copy(conn: asyncpg.Connection, staged: writes.Staged, rows: object) -> None:
        copied.append(staged.table)
        await real_copy(conn, staged, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(writes, "_copy", counting_copy)
    for schema, copy_from in zip(schemas, (10**9, 1), strict=True):
        monkeypatch.setattr(writes, "COPY_FROM", copy_from)
        pool = await connect_pool(settings.database_url, schema)
        try:
            await project(pool, config, events, seed=5)
        finally:
            await pool.close()
        if copy_from > 1:
            assert not copied  # the first schema was written by unnest alone
    # every staged statement went by COPY in the second schema
    assert {s.table for s in writes.STAGED.values()} - set(copied) == set()
    diff = await differences(settings.database_url, *schemas)
    assert diff and all(n == 0 for n in diff.values()), diff


async def test_copy_outside_a_transaction_is_refused(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        with pytest.raises(RuntimeError, match="needs a transaction"):
            await writes._copy(conn, writes.STAGED[writes.TIMELINE], [])
    finally:
        await conn.close()
