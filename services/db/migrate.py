"""`contactmoment db migrate`: apply the versioned SQL migrations with yoyo-migrations."""

from __future__ import annotations

from pathlib import Path

from yoyo import get_backend, read_migrations

MIGRATIONS = Path(__file__).parent / "migrations"


def yoyo_url(database_url: str) -> str:
    """yoyo names the psycopg 3 driver in the scheme."""
    _scheme, sep, rest = database_url.partition("://")
    return f"postgresql+psycopg://{rest}" if sep else database_url


def migrate(database_url: str) -> list[str]:
    """Apply what is pending under one lock; returns the ids applied (empty: up to date)."""
    backend = get_backend(yoyo_url(database_url))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        backend.connection.close()
