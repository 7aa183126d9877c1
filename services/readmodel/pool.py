"""Connections to the read model for the projector and replay."""

from __future__ import annotations

import asyncpg


async def connect_pool(database_url: str, schema: str | None = None) -> asyncpg.Pool:
    """A pool whose connections see `schema` first (replay builds into a fresh one)."""
    settings = {"search_path": schema} if schema else None
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4, server_settings=settings)
    assert pool is not None
    return pool
