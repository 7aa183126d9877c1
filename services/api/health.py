"""Operations endpoints: /healthz (alive), /readyz (Kafka and PostgreSQL reachable).

/readyz is unauthenticated, so it must be cheap: it asks the app's own pool and the
publisher's existing connection, and answers from a one-second cache, so a flood of probes
costs at most one check per second (concurrent callers share the check in flight).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.state import Services, services

router = APIRouter(tags=["operations"])
CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class Checked:
    kafka: bool
    postgres: bool


class Readiness:
    """The last readiness answer, kept for CACHE_SECONDS."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._answer: Checked | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def check(self, svc: Services) -> Checked:
        """The cached answer while fresh, else one new check (shared by concurrent calls)."""
        async with self._lock:
            if self._answer is None or self.clock() - self._at >= CACHE_SECONDS:
                kafka, postgres = await asyncio.gather(svc.publisher.ready(), _database_ok(svc))
                self._answer, self._at = Checked(kafka, postgres), self.clock()
            return self._answer


def _readiness(request: Request) -> Readiness:
    found = getattr(request.app.state, "readiness", None)
    if not isinstance(found, Readiness):
        found = request.app.state.readiness = Readiness()
    return found


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when Kafka takes records and PostgreSQL answers; 503 names what is not."""
    answer = await _readiness(request).check(services(request))
    checks = {
        "kafka": "ok" if answer.kafka else "unreachable",
        "postgres": "ok" if answer.postgres else "unreachable",
    }
    ready = answer.kafka and answer.postgres
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def _database_ok(svc: Services) -> bool:
    """One round trip on a pooled connection (the pool is created on first use)."""
    try:
        pool = await asyncio.wait_for(svc.database.pool(), 4)
        return bool(await pool.fetchval("SELECT 1", timeout=3))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return False
    except asyncpg.InternalClientError:  # a connection cut mid-protocol by a restart
        return False
