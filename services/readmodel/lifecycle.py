"""Due instants and lifecycle in the read model, from each request's history as the projector
stored it: the same pure clock the stream runs. A closed request keeps the due instant it
had when it was closed (what "answered within norm" is measured against).

Both are folded from the whole history in time order, so the order in which the events
arrived does not matter: channel systems retry calls independently, and an answer can reach
Kafka before the question it answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.clock.norms import Catalogue
from domain.clock.schedule import CLOSING, STEP_OF, Step, schedule
from schemas.events import EventType


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


# Step kind → (new status, the statuses it may come from, what it stamps).
MOVES: dict[str, tuple[str, frozenset[str], str | None]] = {
    "answered": ("answered", frozenset({"open", "suspended"}), "answered"),
    "resolved": ("resolved", frozenset({"open", "suspended", "answered"}), "closed"),
    "withdrawn": ("withdrawn", frozenset({"open", "suspended", "answered"}), "closed"),
    "reopened": ("open", frozenset({"answered", "resolved", "withdrawn"}), "reopened"),
    "suspended": ("suspended", frozenset({"open"}), None),
    "resumed": ("open", frozenset({"suspended"}), None),
}


@dataclass(frozen=True)
class Lifecycle:
    status: str
    acknowledged_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    changed_at: datetime | None  # the last step that changed any of the above


def lifecycle(steps: list[Step]) -> Lifecycle:
    """Status and timestamps of a request from its steps (sorted by time)."""
    status, acknowledged, answered, closed, changed = "open", None, None, None, None
    for step in steps:
        if step.kind == "acknowledged":
            acknowledged, changed = acknowledged or step.at, step.at
        move = MOVES.get(step.kind)
        if move is None or status not in move[1]:
            continue  # a repeated or impossible step changes nothing
        status, stamp, changed = move[0], move[2], step.at
        if stamp == "answered":
            answered = closed = step.at
        elif stamp == "closed":
            closed = step.at
        elif stamp == "reopened":
            answered = closed = None
    return Lifecycle(status, acknowledged, answered, closed, changed)


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
    updates = []
    for rid, (meta, steps) in per_request.items():
        life = lifecycle(steps)
        due = due_at(catalogue, *meta, steps)
        updates.append(
            (
                rid,
                due,
                life.status,
                life.acknowledged_at,
                life.answered_at,
                life.closed_at,
                life.changed_at,
            )
        )
    await conn.executemany(
        "UPDATE requests SET due_at = $2, status = $3, acknowledged_at = $4, answered_at = $5,"
        " closed_at = $6, updated_at = GREATEST(updated_at, COALESCE($7, updated_at))"
        " WHERE request_id = $1",
        updates,
    )
