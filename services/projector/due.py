"""Due instants in the read model: the same pure clock the stream runs, from each request's
history as the projector stored it. A closed request keeps the due instant it had when it
was closed (what "answered within norm" is measured against)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from schemas.events import EventType
from streams.clock.deadlines import CLOSING, STEP_OF, Step, schedule
from streams.clock.norms import Catalogue


def due_at(
    catalogue: Catalogue, request_type: str, subject: str, channel: str, steps: list[Step]
) -> datetime | None:
    if not steps or steps[0].kind != "opened":
        return None
    norm = catalogue.lookup(request_type, subject, channel)
    closing = next(
        (
            i
            for i, s in enumerate(steps)
            if s.kind in CLOSING and not any(t.kind == "reopened" for t in steps[i:])
        ),
        None,
    )
    return schedule(norm, catalogue.calendar, steps[:closing] if closing else steps).due_at


async def refresh(conn: asyncpg.Connection, catalogue: Catalogue, ids: Iterable[str]) -> None:
    ids = sorted(set(ids))
    if not ids:
        return
    rows = await conn.fetch(
        "SELECT r.request_id, r.request_type, r.subject, r.channel, h.event_type,"
        " h.occurred_at, h.data->>'extension' AS extension FROM requests r"
        " JOIN request_history h USING (request_id) WHERE r.request_id = ANY($1)"
        " ORDER BY r.request_id, h.occurred_at, h.event_id",
        ids,
    )
    per_request: dict[str, tuple[tuple[str, str, str], list[Step]]] = {}
    for row in rows:
        kind = STEP_OF.get(EventType(row["event_type"]))
        entry = per_request.setdefault(
            row["request_id"], ((row["request_type"], row["subject"], row["channel"]), [])
        )
        if kind:
            entry[1].append(Step(kind, row["occurred_at"], row["extension"]))
    updates = [(rid, due_at(catalogue, *meta, steps)) for rid, (meta, steps) in per_request.items()]
    await conn.executemany("UPDATE requests SET due_at = $2 WHERE request_id = $1", updates)
