"""Keeps the KPI aggregates (kpi_contrib, kpi_daily: migration 0007) in the projector's batch
transaction, so they count exactly the rows committed with them and a replay rebuilds them
identically. What a request or event contributes is decided by
domain/kpi_contributions.py; this only reads the facts and writes the differences.

Per batch: the facts of the requests the batch touched (their history, or an outbound
contact about them), their previous rows deleted and their new rows plus the new events'
rows inserted, and the daily sums moved by new minus old in one upsert. Everything is
arrays in, one statement each, never a statement per row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from domain.clock.norms import Catalogue
from domain.kpi_contributions import (
    LONG_OPEN_BRIEF,
    REQUEST_METRICS,
    Contribution,
    notification_contribution,
    request_contributions,
    signal_contribution,
    timeline_contribution,
)
from domain.kpis import RequestFacts
from services.readmodel.projection import Plan

# The from-scratch request facts (services/readmodel/kpis.py) for the given requests only.
TOUCHED_FACTS = (
    "SELECT r.request_id, r.request_type, r.subject, r.channel, r.opened_at, r.status,"
    " r.acknowledged_at, r.answered_at, r.closed_at, r.due_at,"
    " EXISTS (SELECT 1 FROM request_history h WHERE h.request_id = r.request_id AND"
    "  h.event_type = 'nl.contactmoment.request.interim-update.v1') AS interim,"
    " EXISTS (SELECT 1 FROM timeline t WHERE t.request_id = r.request_id AND"
    "  t.event_type = 'nl.contactmoment.contact.recorded.v1' AND t.direction = 'outbound'"
    "  AND t.occurred_at < COALESCE(r.answered_at, r.closed_at, 'infinity')) AS outbound"
    " FROM requests r WHERE r.request_id = ANY($1::text[])"
)
DELETE_OLD = (
    "DELETE FROM kpi_contrib WHERE source = ANY($1::text[]) AND metric = ANY($2::text[])"
    " RETURNING metric, key, at, numerator, denominator"
)
INSERT_NEW = (
    "INSERT INTO kpi_contrib (source, metric, key, at, until, numerator, denominator)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],"
    " $5::timestamptz[], $6::bigint[], $7::bigint[])"
    " ON CONFLICT (source, metric) DO NOTHING RETURNING metric, key, at, numerator, denominator"
)
# Sorted, so replicas moving the same days lock them in the same order.
MOVE_DAILY = (
    "INSERT INTO kpi_daily AS d (day, metric, key, numerator, denominator)"
    " SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])"
    " ORDER BY 1, 2, 3"
    " ON CONFLICT (day, metric, key) DO UPDATE SET numerator = d.numerator + EXCLUDED.numerator,"
    "  denominator = d.denominator + EXCLUDED.denominator"
)
# A day whose sums came back to zero is removed, so the table depends only on what is
# counted, not on how the events were cut into batches (a replay compares it row by row).
DROP_ZEROS = (
    "DELETE FROM kpi_daily WHERE numerator = 0 AND denominator = 0 AND (day, metric, key) IN"
    " (SELECT * FROM unnest($1::date[], $2::text[], $3::text[]))"
)
OUTBOUND = "nl.contactmoment.contact.recorded.v1"


def utc_day(at: datetime) -> date:
    """The bucket of an instant: its UTC day (docs/kpis.md says why UTC)."""
    return at.astimezone(UTC).date()


def row_facts(row: Any) -> RequestFacts:
    return RequestFacts(
        request_type=row["request_type"],
        subject=row["subject"],
        channel=row["channel"],
        opened_at=row["opened_at"],
        status=row["status"],
        acknowledged_at=row["acknowledged_at"],
        answered_at=row["answered_at"],
        closed_at=row["closed_at"],
        due_at=row["due_at"],
        interim_update=row["interim"],
        outbound_before_answer=row["outbound"],
    )


def event_contributions(plan: Plan) -> list[tuple[str, Contribution]]:
    """(event id, row) for every event of the batch that counts in a KPI."""
    out: list[tuple[str, Contribution]] = []
    for t in plan.timeline:
        event_id, _key, at, event_type, channel, direction, _s, outcome, request_id = t[:9]
        score = json.loads(t[10]).get("score") if event_type.endswith("feedback.given.v1") else None
        c = timeline_contribution(event_type, at, channel, direction, outcome, request_id, score)
        if c:
            out.append((str(event_id), c))
    for s in plan.signals:
        c = signal_contribution(s[3], s[4])
        if c:
            out.append((str(s[0]), c))
    for n in plan.notifications:
        out.append((str(n[0]), notification_contribution(n[3], n[4], n[8])))
    return out


def touched_requests(plan: Plan, touched: Iterable[str]) -> set[str]:
    """Requests whose facts this batch may have changed: their history, or an outbound
    contact about them (it may arrive before or after the request's own events)."""
    ids = set(touched)
    for t in plan.timeline:
        if t[3] == OUTBOUND and t[5] == "outbound" and t[8] is not None:
            ids.add(t[8])
    return ids


async def update(
    conn: asyncpg.Connection, catalogue: Catalogue, plan: Plan, touched: Iterable[str]
) -> None:
    """Bring the aggregates up to date with the batch just written (same transaction, after
    the lifecycle refresh, so the requests' times are final)."""
    ids = sorted(touched_requests(plan, touched))
    new: list[tuple[str, Contribution]] = event_contributions(plan)
    old: list[Any] = []
    if ids:
        for row in await conn.fetch(TOUCHED_FACTS, ids):
            rid = row["request_id"]
            new.extend((rid, c) for c in request_contributions(row_facts(row), catalogue))
        old = await conn.fetch(DELETE_OLD, ids, list(REQUEST_METRICS))
    inserted: list[Any] = []
    if new:
        new.sort(key=lambda sc: (sc[0], sc[1].metric))
        inserted = await conn.fetch(
            INSERT_NEW,
            [s for s, _ in new],
            [c.metric for _, c in new],
            [c.key for _, c in new],
            [c.at for _, c in new],
            [c.until for _, c in new],
            [c.numerator for _, c in new],
            [c.denominator for _, c in new],
        )
    moves: dict[tuple[date, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for rows, sign in ((old, -1), (inserted, 1)):
        for r in rows:
            if r["metric"] == LONG_OPEN_BRIEF:  # read as rows, never summed per day
                continue
            m = moves[(utc_day(r["at"]), r["metric"], r["key"])]
            m[0] += sign * r["numerator"]
            m[1] += sign * r["denominator"]
    changed = sorted((k, v) for k, v in moves.items() if v != [0, 0])
    if changed:
        await conn.execute(
            MOVE_DAILY,
            [k[0] for k, _ in changed],
            [k[1] for k, _ in changed],
            [k[2] for k, _ in changed],
            [v[0] for _, v in changed],
            [v[1] for _, v in changed],
        )
        if old:
            await conn.execute(
                DROP_ZEROS,
                [k[0] for k, _ in changed],
                [k[1] for k, _ in changed],
                [k[2] for k, _ in changed],
            )
