"""Operations endpoints: /healthz (alive), /readyz (Kafka and PostgreSQL reachable)."""

from __future__ import annotations

import asyncio

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.state import Svc

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(svc: Svc) -> JSONResponse:
    """Ready when Kafka takes records and PostgreSQL answers; 503 names what is not."""
    kafka_ok = await svc.publisher.ready()
    db_ok = await _database_ok(svc.settings.database_url)
    checks = {
        "kafka": "ok" if kafka_ok else "unreachable",
        "postgres": "ok" if db_ok else "unreachable",
    }
    ready = kafka_ok and db_ok
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def _database_ok(url: str) -> bool:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(url, timeout=3), 4)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    try:
        return bool(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()
