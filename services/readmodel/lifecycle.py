"""Status, lifecycle times and due instants in the read model, from each request's history
as the projector stored it: the fold the worker's clock runs (`domain.clock.lifecycle`),
so the read model and the clock never disagree. A closed request keeps the due instant it
had when it was closed (what "answered within norm" is measured against); the order in
which the events arrived does not matter."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from domain.clock.lifecycle import fold
from domain.clock.norms import Catalogue
from domain.clock.terms import STEP_OF, Step
from schemas.events import EventType

UPDATE = (
    "UPDATE requests AS r SET due_at = u.due, status = u.status, acknowledged_at = u.ack,"
    " answered_at = u.answered, closed_at = u.closed,"
    " updated_at = GREATEST(r.updated_at, COALESCE(u.changed, r.updated_at))"
    " FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::timestamptz[],"
    " $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])"
    " AS u(request_id, due, status, ack, answered, closed, changed)"
    " WHERE r.request_id = u.request_id"
)


async def refresh(conn: asyncpg.Connection, catalogue: Catalogue, ids: Iterable[str]) -> None:
    """Recompute status, times and due instant of the requests `ids` from their history."""
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
    updates = []
    for rid, ((request_type, subject, channel), steps) in per_request.items():
        norm = catalogue.lookup(request_type, subject, channel)
        life = fold(norm, catalogue.calendar, steps)
        updates.append(
            (
                rid,
                life.due_at,
                life.status,
                life.acknowledged_at,
                life.answered_at,
                life.closed_at,
                life.changed_at,
            )
        )
    if not updates:
        return
    # One statement for the batch (executemany would be one round trip per request).
    columns = [list(column) for column in zip(*updates, strict=True)]
    await conn.execute(UPDATE, *columns)
