"""The read model is right whatever order a request's events arrive in: retried channel
calls can put an answer on Kafka before the question it answers."""

from datetime import UTC, datetime, timedelta

import asyncpg

from schemas.envelope import new_event
from schemas.events import EventType, RequestAnswered, RequestOpened
from services.projector.apply import ProjectionConfig, apply_batch
from services.readmodel.migrate import migrate
from services.readmodel.pool import connect_pool
from services.settings import Settings

KEY = "k-" + "b" * 32


async def test_an_answer_projected_before_its_opening_still_answers_it(
    settings: Settings, unique: str
) -> None:
    schema = f"order_{unique}"
    migrate(settings.database_url, schema)
    opened_at = datetime.now(UTC) - timedelta(minutes=2)
    rid = f"web-{unique}"
    opened = new_event(
        EventType.REQUEST_OPENED,
        source="urn:contactmoment:test",
        source_id=rid,
        subject=KEY,
        time=opened_at,
        data=RequestOpened(
            request_id=rid, request_type="question", subject="paspoort", channel="web"
        ),
    )
    answered = new_event(
        EventType.REQUEST_ANSWERED,
        source="urn:contactmoment:test",
        source_id=f"{rid}-answer",
        subject=KEY,
        time=opened_at + timedelta(minutes=1),
        data=RequestAnswered(request_id=rid),
    )
    config = ProjectionConfig.from_settings(settings)
    pool = await connect_pool(settings.database_url, schema)
    try:
        assert await apply_batch(pool, [("contact.events.v1", answered)], config) == 1
        assert await apply_batch(pool, [("contact.events.v1", opened)], config) == 1
        row = await pool.fetchrow(
            "SELECT status, answered_at, due_at FROM requests WHERE request_id = $1", rid
        )
    finally:
        await pool.close()
        conn = await asyncpg.connect(settings.database_url)
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()
    assert row is not None
    assert (row["status"], row["answered_at"]) == ("answered", answered.time)
    assert row["due_at"] > row["answered_at"]  # answered within the norm
