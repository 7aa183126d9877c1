"""/readyz answers from the app's own pool and publisher, at most one check per second."""

import dataclasses
from typing import Any

import httpx

from services.api.app import create_app
from services.api.state import attach, services
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.settings import Settings
from tests.unit.api.conftest import TOKEN


class CountingPool:
    """Stands in for the asyncpg pool: counts the round trips."""

    def __init__(self) -> None:
        self.round_trips = 0

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> int:
        self.round_trips += 1
        return 1


class CountingDatabase:
    def __init__(self, pool: CountingPool) -> None:
        self._pool = pool
        self.pools_asked = 0

    async def pool(self) -> CountingPool:
        self.pools_asked += 1
        return self._pool

    async def close(self) -> None:
        pass


class CountingPublisher(MemoryPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    async def ready(self) -> bool:
        self.checks += 1
        return await super().ready()


def app_with(database: object | None, publisher: MemoryPublisher, **settings: Any) -> Any:
    app = create_app(
        Settings(**settings),
        publisher=publisher,
        api_token=TOKEN,
        pseudonym_key="unit-test-pseudonym-key-0123",
        sealer=memory_sealer(),
    )
    if database is not None:
        attach(app, dataclasses.replace(services_of(app), database=database))
    return app


def services_of(app: Any) -> Any:
    class Conn:
        pass

    conn = Conn()
    conn.app = app  # type: ignore[attr-defined]
    return services(conn)  # type: ignore[arg-type]


async def test_two_calls_within_a_second_make_one_round_trip() -> None:
    pool, publisher = CountingPool(), CountingPublisher()
    app = app_with(CountingDatabase(pool), publisher)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        first = await client.get("/readyz")
        second = await client.get("/readyz")
    assert first.status_code == second.status_code == 200, first.text
    assert second.json() == first.json()
    assert pool.round_trips == 1  # the app's pool, once
    assert publisher.checks == 1  # Kafka metadata, once


async def test_the_answer_is_not_ready_when_the_database_is_down() -> None:
    publisher = CountingPublisher()
    app = app_with(None, publisher, database_url="postgresql://nobody@127.0.0.1:1/nothing")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"kafka": "ok", "postgres": "unreachable"}


async def test_a_cached_answer_expires_after_a_second() -> None:
    from services.api import health

    pool, publisher = CountingPool(), CountingPublisher()
    now = [100.0]
    app = app_with(CountingDatabase(pool), publisher)
    app.state.readiness = health.Readiness(clock=lambda: now[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        await client.get("/readyz")
        now[0] += 0.5
        await client.get("/readyz")
        now[0] += 0.6
        publisher.down = True
        late = await client.get("/readyz")
    assert pool.round_trips == 2
    assert late.status_code == 503 and late.json()["checks"]["kafka"] == "unreachable"
