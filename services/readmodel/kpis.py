"""The facts the KPIs count, fetched from the read model (the arithmetic: domain/kpis.py;
definitions: docs/kpis.md). GET /v1/kpis and the projector's gauges both call `compute`,
so they always agree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from domain.clock.norms import Catalogue
from domain.kpis import KpiFacts, RequestFacts, tally

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


async def compute(
    conn: asyncpg.Connection, catalogue: Catalogue, start: datetime, end: datetime
) -> dict[str, Any]:
    """The KPIs of [start, end): the read model's facts, counted by domain/kpis.py."""
    return tally(await facts(conn, start, end), catalogue, start, end)
