"""The KPIs of a window, from the read model (definitions: docs/kpis.md). GET /v1/kpis, the
KPI page and the projector's gauges all call `compute`, so they always agree.

`compute` reads the incremental aggregates (migration 0007, kept by kpi_store.py): the
window's whole UTC days from kpi_daily, its two partial edge days from kpi_contrib, so it
costs what the window's days cost, not what the history costs. `facts` is the same figure
from scratch over the window's rows (kept as the reference the aggregates are tested
against); the distinct-customer repeat-contact rate is not additive per day and is still
counted, from the customers' last inbound contact when the window reaches the newest one
(docs/kpis.md, "How the figures are kept").
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg

from domain import kpi_contributions as kc
from domain.clock.norms import Catalogue
from domain.kpis import KpiCounts, KpiFacts, RequestFacts, document, tally

# Requests open at some time during [$1, $2), with whether they got an interim update or an
# outbound contact before their answer.
REQUESTS = (
    "SELECT r.request_type, r.subject, r.channel, r.opened_at, r.status,"
    " r.acknowledged_at, r.answered_at, r.closed_at, r.due_at,"
    " EXISTS (SELECT 1 FROM request_history h WHERE h.request_id = r.request_id AND"
    "  h.event_type = 'nl.contactmoment.request.interim-update.v1') AS interim,"
    " EXISTS (SELECT 1 FROM timeline t WHERE t.request_id = r.request_id AND"
    "  t.event_type = 'nl.contactmoment.contact.recorded.v1' AND t.direction = 'outbound'"
    "  AND t.occurred_at < COALESCE(r.answered_at, r.closed_at, 'infinity')) AS outbound"
    " FROM requests r WHERE r.opened_at < $2 AND COALESCE(r.closed_at, 'infinity') >= $1"
)
ESCALATIONS = (
    "SELECT count(*) FROM signals WHERE event_type = 'nl.contactmoment.deadline.escalated.v1'"
    " AND occurred_at >= $1 AND occurred_at < $2"
)
FIRST_CONTACT = (
    "SELECT count(*) FILTER (WHERE request_id IS NULL AND outcome IN ('answered', 'served'))"
    " AS first, count(*) AS total FROM timeline WHERE event_type ="
    " 'nl.contactmoment.contact.recorded.v1' AND direction = 'inbound'"
    " AND channel IN ('phone', 'counter') AND occurred_at >= $1 AND occurred_at < $2"
)
REPEAT_CONTACT = (
    "SELECT (SELECT count(DISTINCT customer_key) FROM notifications WHERE kind ="
    " 'repeat-contact' AND occurred_at >= $1 AND occurred_at < $2) AS repeated,"
    " (SELECT count(DISTINCT customer_key) FROM timeline WHERE direction = 'inbound'"
    " AND occurred_at >= $1 AND occurred_at < $2) AS customers"
)
# The same two counts as `compute` reads them. Distinct customers are not additive per day,
# so they are counted, but as cheaply as the window allows: a hashed DISTINCT (count(DISTINCT)
# sorts, and spills to disk past a few hundred thousand rows), and, when no inbound contact
# lies at or after the window's end (a window up to now: the usual case), the customers whose
# last inbound contact is in the window, an index range over customers (migration 0008)
# instead of every inbound contact of the window. The newest inbound contact is a max() with
# no parameter (one index entry): as EXISTS (... >= $2), the generic plan a prepared
# statement gets after five runs scanned the whole timeline when no row matched.
REPEAT_CONTACT_FAST = (
    "SELECT (SELECT count(*) FROM (SELECT DISTINCT customer_key FROM notifications"
    "  WHERE kind = 'repeat-contact' AND occurred_at >= $1 AND occurred_at < $2) AS n)"
    "  AS repeated,"
    " CASE WHEN (SELECT max(occurred_at) FROM timeline WHERE direction = 'inbound') >= $2"
    " THEN (SELECT count(*) FROM (SELECT DISTINCT customer_key FROM timeline"
    "  WHERE direction = 'inbound' AND occurred_at >= $1 AND occurred_at < $2) AS d)"
    " ELSE (SELECT count(*) FROM customers WHERE last_inbound_at >= $1"
    "  AND last_inbound_at < $2) END AS customers"
)
FEEDBACK = (
    "SELECT count(*) AS n, avg((data->>'score')::int) AS mean FROM timeline WHERE"
    " event_type = 'nl.contactmoment.feedback.given.v1' AND occurred_at >= $1"
    " AND occurred_at < $2"
)
NOTIFICATIONS = (
    "SELECT kind, audience, count(*) AS n FROM notifications WHERE occurred_at >= $1"
    " AND occurred_at < $2 GROUP BY kind, audience ORDER BY kind, audience"
)


async def facts(conn: asyncpg.Connection, start: datetime, end: datetime) -> KpiFacts:
    """What the KPIs of [start, end) count, as plain values."""
    requests = await conn.fetch(REQUESTS, start, end)
    escalations = await conn.fetchval(ESCALATIONS, start, end)
    fcr = await conn.fetchrow(FIRST_CONTACT, start, end)
    repeat = await conn.fetchrow(REPEAT_CONTACT, start, end)
    feedback = await conn.fetchrow(FEEDBACK, start, end)
    notes = await conn.fetch(NOTIFICATIONS, start, end)
    return KpiFacts(
        requests=[
            RequestFacts(
                request_type=r["request_type"],
                subject=r["subject"],
                channel=r["channel"],
                opened_at=r["opened_at"],
                status=r["status"],
                acknowledged_at=r["acknowledged_at"],
                answered_at=r["answered_at"],
                closed_at=r["closed_at"],
                due_at=r["due_at"],
                interim_update=r["interim"],
                outbound_before_answer=r["outbound"],
            )
            for r in requests
        ],
        escalations=int(escalations),
        inbound_phone_counter_contacts=int(fcr["total"]),
        resolved_at_first_contact=int(fcr["first"]),
        inbound_customers=int(repeat["customers"]),
        repeat_contact_customers=int(repeat["repeated"]),
        feedback_count=int(feedback["n"]),
        feedback_mean=float(feedback["mean"]) if feedback["mean"] is not None else None,
        notifications=[(n["kind"], n["audience"], int(n["n"])) for n in notes],
    )


ADDITIVE = [
    kc.ACKNOWLEDGED,
    kc.ANSWERED,
    kc.RESOLVED,
    kc.ESCALATIONS,
    kc.FIRST_CONTACT,
    kc.FEEDBACK,
    kc.NOTIFICATIONS,
]

# Every part of the window in one round trip; $1..$2 whole days, $3..$6 the edges,
# $7 the window's start, $8 its end, $9 the UTC midnight before the start, $10 before the end.
# Long-open requests are "open during the window": #(long-open since < end) minus
# #(closed < start), each a prefix of days plus a partial day; plus the brief ones
# (closed unanswered before they became long-open) that lie wholly in the window.
WINDOW = (
    "SELECT metric, key, sum(n)::bigint AS numerator, sum(d)::bigint AS denominator FROM ("
    " SELECT metric, key, numerator AS n, denominator AS d FROM kpi_daily"
    "  WHERE metric = ANY($11::text[]) AND day >= $1 AND day < $2"
    " UNION ALL SELECT metric, key, numerator, denominator FROM kpi_contrib"
    "  WHERE at >= $3 AND at < $4 AND metric = ANY($11::text[])"
    " UNION ALL SELECT metric, key, numerator, denominator FROM kpi_contrib"
    "  WHERE at >= $5 AND at < $6 AND metric = ANY($11::text[])"
    " UNION ALL SELECT 'long_open', '', numerator, denominator FROM kpi_daily"
    "  WHERE metric = 'long_open' AND day < $10::timestamptz::date"
    " UNION ALL SELECT 'long_open', '', numerator, denominator FROM kpi_contrib"
    "  WHERE at >= $10 AND at < $8 AND metric = 'long_open'"
    " UNION ALL SELECT 'long_open', '', -numerator, -denominator FROM kpi_daily"
    "  WHERE metric = 'long_open_closed' AND day < $9::timestamptz::date"
    " UNION ALL SELECT 'long_open', '', -numerator, -denominator FROM kpi_contrib"
    "  WHERE at >= $9 AND at < $7 AND metric = 'long_open_closed'"
    " UNION ALL SELECT 'long_open', '', numerator, denominator FROM kpi_contrib"
    "  WHERE metric = 'long_open_brief' AND at >= $7 AND at < $8 AND until < $8"
    ") AS parts GROUP BY metric, key"
)


def midnight(at: datetime) -> datetime:
    """The UTC midnight at or before `at`."""
    return datetime.combine(at.astimezone(UTC).date(), time(), UTC)


def window_parts(start: datetime, end: datetime) -> list[datetime]:
    """[first whole day, end of whole days, head edge, tail edge, start, end, midnight before
    start, midnight before end]: the bounds WINDOW takes."""
    first = midnight(start)
    if first < start:
        first += timedelta(days=1)
    last = midnight(end)
    if first >= last:  # no whole day: the window is one edge
        return [first, first, start, end, end, end, start, end, midnight(start), last]
    return [first, last, start, first, last, end, start, end, midnight(start), last]


async def counts(conn: asyncpg.Connection, start: datetime, end: datetime) -> KpiCounts:
    """The counted parts of [start, end) from the aggregates (start < end)."""
    parts = window_parts(start, end)
    rows = await conn.fetch(WINDOW, parts[0].date(), parts[1].date(), *parts[2:], ADDITIVE)
    sums = {(r["metric"], r["key"]): (int(r["numerator"]), int(r["denominator"])) for r in rows}
    repeat = await conn.fetchrow(REPEAT_CONTACT_FAST, start, end)
    feedback = sums.get((kc.FEEDBACK, ""), (0, 0))
    return KpiCounts(
        acknowledged=sums.get((kc.ACKNOWLEDGED, ""), (0, 0)),
        long_open=sums.get((kc.LONG_OPEN, ""), (0, 0)),
        answered={key: nd for (metric, key), nd in sums.items() if metric == kc.ANSWERED and nd[1]},
        resolved=sums.get((kc.RESOLVED, ""), (0, 0)),
        escalations=sums.get((kc.ESCALATIONS, ""), (0, 0))[1],
        first_contact=sums.get((kc.FIRST_CONTACT, ""), (0, 0)),
        repeat_contact=(int(repeat["repeated"]), int(repeat["customers"])),
        feedback_count=feedback[1],
        feedback_mean=feedback[0] / feedback[1] if feedback[1] else None,
        notifications=sorted(
            (*kc.split_notification_key(key), nd[1])
            for (metric, key), nd in sums.items()
            if metric == kc.NOTIFICATIONS and nd[1]
        ),
    )


async def compute(
    conn: asyncpg.Connection, catalogue: Catalogue, start: datetime, end: datetime
) -> dict[str, Any]:
    """The KPIs of [start, end), from the aggregates (an empty or reversed window: from
    scratch, where the definitions say what it means)."""
    if start >= end:
        return await compute_from_scratch(conn, catalogue, start, end)
    return document(await counts(conn, start, end), start, end)


async def compute_from_scratch(
    conn: asyncpg.Connection, catalogue: Catalogue, start: datetime, end: datetime
) -> dict[str, Any]:
    """The KPIs of [start, end) counted over the window's rows (the reference)."""
    return tally(await facts(conn, start, end), catalogue, start, end)
