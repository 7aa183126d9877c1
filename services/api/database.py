"""The API's connection pool to the read model, created on first use so the API can start
(and answer ingest) while PostgreSQL is still coming up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import Request

from services.api.problems import Problem
from services.api.state import services

log = logging.getLogger(__name__)


class Database:
    """A lazily created asyncpg pool (up to 8 connections) to the read model."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        """The pool, created on first use; raises what asyncpg raises while it cannot be."""
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=8, timeout=5)
            assert self._pool is not None
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


@asynccontextmanager
async def connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A read-model connection, or 503 (the cause logged) when PostgreSQL cannot be reached."""
    database = services(request).database
    try:
        pool = await database.pool()
        conn = await pool.acquire(timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        # The cause can name the database's host and user: the log has it, the answer not.
        log.warning("the read model cannot be reached: %r", exc)
        raise Problem(
            503,
            "Read model unavailable",
            "the read model (PostgreSQL) cannot be reached, so nothing was read; try again "
            "in a few seconds",
            headers={"Retry-After": "5"},
        ) from None
    try:
        yield conn
    finally:
        await pool.release(conn)
