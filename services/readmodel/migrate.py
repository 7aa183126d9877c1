"""`contactmoment db migrate`: apply the versioned SQL migrations with yoyo-migrations."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations

MIGRATIONS = Path(__file__).parent / "migrations"


def yoyo_url(database_url: str, schema: str | None = None) -> str:
    """yoyo names the psycopg 3 driver in the scheme, and takes the schema as a parameter."""
    _scheme, sep, rest = database_url.partition("://")
    url = f"postgresql+psycopg://{rest}" if sep else database_url
    if schema:
        url += ("&" if "?" in url else "?") + f"schema={schema}"
    return url


def valid_schema(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"schema name {name!r}: use lower-case letters, digits and _")
    return name


def migrate(database_url: str, schema: str | None = None) -> list[str]:
    """Apply what is pending under one lock; returns the ids applied (empty: up to date).

    With `schema`, the read model is built in that (new) schema instead: replay uses this.
    """
    if schema:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {valid_schema(schema)}")
    backend = get_backend(yoyo_url(database_url, schema))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        backend.connection.close()
