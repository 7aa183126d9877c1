"""KPIs of the four service principles, from the read model (definitions: docs/kpis.md).

Each figure is a share with its numerator and denominator (or a count), over requests,
contacts or events whose reference instant lies in [from, to). The same function serves
GET /v1/kpis and the projector's Prometheus gauges, so both always agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from domain.clock.norms import Catalogue
from domain.clock.schedule import add_term


def share(numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "value": round(numerator / denominator, 4) if denominator else None,
    }


async def compute(
    conn: asyncpg.Connection, catalogue: Catalogue, start: datetime, end: datetime
) -> dict[str, Any]:
    requests = await conn.fetch(
        "SELECT r.request_id, r.request_type, r.subject, r.channel, r.opened_at, r.status,"
        " r.acknowledged_at, r.answered_at, r.closed_at, r.due_at,"
        " EXISTS (SELECT 1 FROM request_history h WHERE h.request_id = r.request_id AND"
        "  h.event_type = 'nl.contactmoment.request.interim-update.v1') AS interim,"
        " EXISTS (SELECT 1 FROM timeline t WHERE t.request_id = r.request_id AND"
        "  t.event_type = 'nl.contactmoment.contact.recorded.v1' AND t.direction = 'outbound'"
        "  AND t.occurred_at < COALESCE(r.answered_at, r.closed_at, 'infinity')) AS outbound"
        " FROM requests r WHERE r.opened_at < $2 AND COALESCE(r.closed_at, 'infinity') >= $1",
        start,
        end,
    )
    duidelijk_ack = [0, 0]
    interim = [0, 0]
    answered: dict[str, list[int]] = {}
    callbacks = [0, 0]
    resolved = [0, 0]
    for r in requests:
        norm = catalogue.lookup(r["request_type"], r["subject"], r["channel"])
        if norm.acknowledge_within and start <= r["opened_at"] < end:
            due = add_term(catalogue.calendar, r["opened_at"], norm.acknowledge_within)
            duidelijk_ack[1] += 1
            duidelijk_ack[0] += bool(r["acknowledged_at"] and r["acknowledged_at"] <= due)
        long_open_since = add_term(catalogue.calendar, r["opened_at"], norm.interim_every)
        if long_open_since < min(end, r["answered_at"] or end):
            interim[1] += 1
            interim[0] += bool(r["interim"] or r["outbound"])
        if r["answered_at"] and start <= r["answered_at"] < end:
            n = answered.setdefault(r["request_type"], [0, 0])
            n[1] += 1
            n[0] += bool(r["due_at"] and r["answered_at"] <= r["due_at"])
            if r["request_type"] == "callback":
                callbacks[1] += 1
                callbacks[0] += bool(r["due_at"] and r["answered_at"] <= r["due_at"])
        if (
            r["status"] in ("answered", "resolved")
            and r["closed_at"]
            and start <= r["closed_at"] < end
        ):
            resolved[1] += 1
            resolved[0] += r["status"] == "resolved"
    escalations = await conn.fetchval(
        "SELECT count(*) FROM signals WHERE event_type = 'nl.contactmoment.deadline.escalated.v1'"
        " AND occurred_at >= $1 AND occurred_at < $2",
        start,
        end,
    )
    fcr = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE request_id IS NULL AND outcome IN ('answered', 'served'))"
        " AS first, count(*) AS total FROM timeline WHERE event_type ="
        " 'nl.contactmoment.contact.recorded.v1' AND direction = 'inbound'"
        " AND channel IN ('phone', 'counter') AND occurred_at >= $1 AND occurred_at < $2",
        start,
        end,
    )
    repeat = await conn.fetchrow(
        "SELECT (SELECT count(DISTINCT customer_key) FROM notifications WHERE kind ="
        " 'repeat-contact' AND occurred_at >= $1 AND occurred_at < $2) AS repeated,"
        " (SELECT count(DISTINCT customer_key) FROM timeline WHERE direction = 'inbound'"
        " AND occurred_at >= $1 AND occurred_at < $2) AS customers",
        start,
        end,
    )
    feedback = await conn.fetchrow(
        "SELECT count(*) AS n, avg((data->>'score')::int) AS mean FROM timeline WHERE"
        " event_type = 'nl.contactmoment.feedback.given.v1' AND occurred_at >= $1"
        " AND occurred_at < $2",
        start,
        end,
    )
    notes = await conn.fetch(
        "SELECT kind, audience, count(*) AS n FROM notifications WHERE occurred_at >= $1"
        " AND occurred_at < $2 GROUP BY kind, audience ORDER BY kind, audience",
        start,
        end,
    )
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "duidelijk": {
            "acknowledged_within_norm": share(*duidelijk_ack),
            "long_open_with_interim_update": share(*interim),
        },
        "betrouwbaar": {
            "answered_within_norm": {t: share(*n) for t, n in sorted(answered.items())},
        },
        "klant_geholpen": {
            "resolved_of_answered": share(*resolved),
            "escalations": int(escalations),
        },
        "persoonlijk": {
            "first_contact_resolution": share(int(fcr["first"]), int(fcr["total"])),
            "repeat_contact_rate": share(int(repeat["repeated"]), int(repeat["customers"])),
            "callbacks_on_time": share(*callbacks),
        },
        "leren": {
            "feedback_count": int(feedback["n"]),
            "feedback_mean_score": round(float(feedback["mean"]), 2)
            if feedback["mean"] is not None
            else None,
        },
        "anticiperen": {
            "notifications": [
                {"kind": n["kind"], "audience": n["audience"], "count": int(n["n"])} for n in notes
            ]
        },
    }
