"""What the regieteam's page adds to the overdue worklist: which of the listed requests were
escalated, and each listed customer's most recent contacts.

Both read only the page's requests and customers (index probes: signals by (request_id,
event_type), the timeline by (customer_key, occurred_at DESC)), never the whole table.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.readmodel.rows import iso

ESCALATED = "nl.contactmoment.deadline.escalated.v1"
CONTACT = "nl.contactmoment.contact.recorded.v1"


async def escalated(conn: asyncpg.Connection, request_ids: list[str]) -> set[str]:
    """Which of these requests the clock escalated (a `deadline.escalated` signal)."""
    rows = await conn.fetch(
        "SELECT DISTINCT request_id FROM signals WHERE request_id = ANY($1) AND event_type = $2",
        request_ids,
        ESCALATED,
    )
    return {r["request_id"] for r in rows}


async def recent_contacts(
    conn: asyncpg.Connection, customer_keys: list[str], per_customer: int = 3
) -> dict[str, list[dict[str, Any]]]:
    """The last `per_customer` contacts of each customer, newest first: when, channel,
    direction, subject and outcome (no summary text: the page shows what happened, the
    customer page shows the rest once a purpose is given)."""
    rows = await conn.fetch(
        "SELECT k.key AS customer_key, t.occurred_at, t.channel, t.direction, t.subject,"
        " t.outcome FROM unnest($1::text[]) AS k(key) CROSS JOIN LATERAL ("
        " SELECT occurred_at, channel, direction, subject, outcome FROM timeline"
        " WHERE customer_key = k.key AND event_type = $2"
        " ORDER BY occurred_at DESC, event_id DESC LIMIT $3) t"
        " ORDER BY k.key, t.occurred_at DESC",
        sorted(set(customer_keys)),
        CONTACT,
        per_customer,
    )
    contacts: dict[str, list[dict[str, Any]]] = {key: [] for key in customer_keys}
    for r in rows:
        item = dict(r)
        item["occurred_at"] = iso(item["occurred_at"])
        contacts[item.pop("customer_key")].append(item)
    return contacts
