"""Customers in the read model: who is one customer (the cluster), search by identifier, the
summary and the timeline.

A customer is seen as a *cluster* of keys: a BSN or KvK key absorbs the e-mail and phone
keys it carries (a verified call, a DigiD form). A weak key (e-mail, phone) belongs to the
one strong key that carries it; when several strong keys share it (a family landline), it
is linked to none of them, so one person's history never shows in another's. The rule is
domain/customer/linking.py: the queries here fetch the candidate rows, it decides. A link
the channel did not verify (an address typed into a form) is marked: staff see it as such,
the resident's view (`Cluster.verified`) leaves it out.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.customer import linking
from domain.customer.view import most_used
from schemas.identifiers import STRONG_KINDS, IdentifierKind
from schemas.keys import key_of
from services.readmodel import worklist
from services.readmodel.rows import iso, json_object, short_type


class BadCursor(ValueError):
    """The `before` cursor is not one this API handed out."""


@dataclass(frozen=True)
class Cluster:
    """The keys that are one customer; `root` is the key the customer is shown under.

    `unverified`: linked weak keys (among `keys`) whose link no channel verified;
    `withheld`: weak keys the root carries that are not in `keys` (shared with another
    strong key, or left out of a resident's view as unverified)."""

    root: str
    keys: list[str]
    unverified: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()

    def verified(self) -> Cluster:
        """Only the verified links: what the resident sees, and what an erasure takes."""
        return Cluster(
            self.root,
            [k for k in self.keys if k not in self.unverified],
            (),
            tuple(sorted({*self.withheld, *self.unverified})),
        )


_STRONG = [kind.value for kind in sorted(STRONG_KINDS)]


async def claims_on(conn: asyncpg.Connection, hashes: list[str]) -> list[linking.Claim]:
    """Every strong key's claim on these identifier hashes (the linking rule's input)."""
    rows = await conn.fetch(
        "SELECT customer_key, kind, hash, verified FROM customer_identifiers WHERE hash = ANY($1)",
        hashes,
    )
    carriers = sorted({r["customer_key"] for r in rows})
    defining = await conn.fetch(
        "SELECT customer_key, kind, hash FROM customer_identifiers"
        " WHERE customer_key = ANY($1) AND kind = ANY($2)",
        carriers,
        _STRONG,
    )
    carried: dict[str, list[tuple[str, str]]] = {}
    for r in defining:
        carried.setdefault(r["customer_key"], []).append((r["kind"], r["hash"]))
    return [
        linking.Claim(r["customer_key"], IdentifierKind(r["kind"]), r["hash"], r["verified"])
        for r in rows
        if linking.is_strong_key(r["customer_key"], carried.get(r["customer_key"], []))
    ]


async def cluster(conn: asyncpg.Connection, key: str) -> Cluster | None:
    """The keys that are one customer with `key`, or None when the key is unknown."""
    rows = await conn.fetch(
        "SELECT hash, kind FROM customer_identifiers WHERE customer_key = $1", key
    )
    if not rows:
        return None
    if not linking.is_strong_key(key, [(r["kind"], r["hash"]) for r in rows]):
        # A weak key belongs to the one strong key that carries its identifier.
        own = [r["hash"] for r in rows if key_of(r["hash"]) == key]
        link = linking.owner_of(key, await claims_on(conn, own))
        if link is not None:
            return await cluster(conn, link.owner)
        return Cluster(key, [key])
    # A strong key absorbs the weak keys it alone carries.
    weak = sorted({r["hash"] for r in rows if r["kind"] not in STRONG_KINDS})
    links = linking.owned_by(key, await claims_on(conn, weak))
    present = {
        r["customer_key"]
        for r in await conn.fetch(
            "SELECT DISTINCT customer_key FROM customer_identifiers WHERE customer_key = ANY($1)",
            [key_of(h) for h in weak],
        )
    } - {key}
    owned = [link for link in links if link.weak_key in present]
    return Cluster(
        key,
        [key, *(link.weak_key for link in owned)],
        unverified=tuple(link.weak_key for link in owned if not link.verified),
        withheld=tuple(sorted(present - {link.weak_key for link in owned})),
    )


async def keys_for_hashes(conn: asyncpg.Connection, hashes: list[str]) -> list[str]:
    """The customer keys that carry any of these identifier hashes (search)."""
    rows = await conn.fetch(
        "SELECT DISTINCT customer_key FROM customer_identifiers WHERE hash = ANY($1)"
        " ORDER BY customer_key",
        hashes,
    )
    return [r["customer_key"] for r in rows]


# The customer the local demo points at: the BSN customer with the most contacts.
RICHEST_BSN_CUSTOMER = (
    "SELECT c.customer_key FROM customers c JOIN customer_identifiers i"
    " ON i.customer_key = c.customer_key AND i.kind = 'bsn'"
    " AND c.customer_key = 'k-' || left(i.hash, 32)"
    " ORDER BY c.contact_count DESC LIMIT 1"
)


async def summary(conn: asyncpg.Connection, group: Cluster) -> dict[str, Any]:
    """The customer summary over every key of the cluster: masked identifiers, contact
    counts per channel, first and last contact, preferred channel, open requests."""
    # An identifier is verified for this customer when a channel verified it on the root.
    idents = await conn.fetch(
        "SELECT DISTINCT ON (hash) kind, masked,"
        " bool_or(verified AND customer_key = $2) OVER (PARTITION BY hash) AS verified"
        " FROM customer_identifiers WHERE customer_key = ANY($1) ORDER BY hash, first_seen",
        group.keys,
        group.root,
    )
    counts = await conn.fetch(
        "SELECT contact_count, channels, inbound_channels, first_contact_at, last_contact_at"
        " FROM customers WHERE customer_key = ANY($1)",
        group.keys,
    )
    channels: dict[str, int] = {}
    inbound: dict[str, int] = {}
    for row in counts:
        for name, n in json_object(row["channels"]).items():
            channels[name] = channels.get(name, 0) + int(n)
        for name, n in json_object(row["inbound_channels"]).items():
            inbound[name] = inbound.get(name, 0) + int(n)
    firsts = [r["first_contact_at"] for r in counts if r["first_contact_at"]]
    lasts = [r["last_contact_at"] for r in counts if r["last_contact_at"]]
    order = {"bsn": 0, "kvk": 1, "email": 2, "phone": 3}
    return {
        "customer_key": group.root,
        "linked_keys": [
            {"customer_key": k, "verified": k not in group.unverified}
            for k in group.keys
            if k != group.root
        ],
        "identifiers": sorted(
            ({"kind": r["kind"], "masked": r["masked"], "verified": r["verified"]} for r in idents),
            key=lambda i: (order.get(i["kind"], 9), i["masked"]),
        ),
        "contact_count": sum(r["contact_count"] for r in counts),
        "channels": dict(sorted(channels.items())),
        "first_contact_at": iso(min(firsts)) if firsts else None,
        "last_contact_at": iso(max(lasts)) if lasts else None,
        "preferred_channel": most_used(inbound),
        "open_requests": await worklist.requests(
            conn, statuses=worklist.OPEN_STATUSES, customer_keys=group.keys
        ),
    }


def encode_cursor(occurred_at: datetime, event_id: UUID) -> str:
    """The `next` of a timeline page: where the following page starts."""
    raw = f"{occurred_at.isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The position a cursor names; BadCursor when it is not one this API handed out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, event_id = raw.partition("|")
        return datetime.fromisoformat(when), UUID(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None


_TIMELINE = (
    "SELECT event_id, customer_key, occurred_at, event_type, channel, direction, subject,"
    " outcome, request_id, summary FROM timeline WHERE customer_key = ANY($1)"
)
TIMELINE_FIRST = _TIMELINE + " ORDER BY occurred_at DESC, event_id DESC LIMIT $2"
TIMELINE_AFTER = (
    _TIMELINE + " AND (occurred_at, event_id) < ($3, $4) ORDER BY occurred_at DESC,"
    " event_id DESC LIMIT $2"
)


async def timeline(
    conn: asyncpg.Connection, group: Cluster, limit: int | None, before: str | None
) -> dict[str, Any]:
    """Newest first over every key of the cluster; `next` continues after the last item
    (`limit` None: all of it, one page)."""
    args: list[Any] = [group.keys, None if limit is None else limit + 1]
    if before:
        when, event_id = decode_cursor(before)
        args += [when, event_id]
    rows = await conn.fetch(TIMELINE_AFTER if before else TIMELINE_FIRST, *args)
    page = rows[:limit]
    items = [
        {
            "event_id": str(r["event_id"]),
            "type": short_type(r["event_type"]),
            "occurred_at": iso(r["occurred_at"]),
            "customer_key": r["customer_key"],
            "channel": r["channel"],
            "direction": r["direction"],
            "subject": r["subject"],
            "outcome": r["outcome"],
            "request_id": r["request_id"],
            "summary": r["summary"],
        }
        for r in page
    ]
    more = limit is not None and len(rows) > limit
    last = page[-1] if page else None
    return {
        "items": items,
        "next": encode_cursor(last["occurred_at"], last["event_id"]) if more and last else None,
    }
