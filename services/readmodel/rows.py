"""How read-model rows become the JSON-ready values the API answers with, and optional
filters as numbered bind parameters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def iso(value: datetime | None) -> str | None:
    """An instant as RFC 3339 text (None stays None)."""
    return value.isoformat() if value else None


def json_object(value: Any) -> dict[str, Any]:
    """A jsonb column as a dict (asyncpg hands jsonb over as text)."""
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def short_type(event_type: str) -> str:
    """`nl.contactmoment.request.opened.v1` → `request.opened`."""
    return event_type.removeprefix("nl.contactmoment.").removesuffix(".v1")


def filters(*clauses: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """The WHERE clauses whose value is given, numbered as bind parameters in order."""
    where: list[str] = []
    args: list[Any] = []
    for clause, value in clauses:
        if value:
            args.append(value)
            where.append(clause.format(len(args)))
    return where, args
