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
    """The strong keys' claims on these identifier hashes (the linking rule's input): for
    each hash at most two strong carriers, which is all the rule needs (one carrier owns
    the weak key, two or more share it). One statement, and its cost does not grow with the
    number of customers who share a number: each hash reads its carriers from the index
    until two strong ones are found."""
    rows = await conn.fetch(
        "SELECT c.customer_key, c.kind, c.hash, c.verified FROM unnest($1::text[]) AS h(hash)"
        " CROSS JOIN LATERAL (SELECT c.customer_key, c.kind, c.hash, c.verified"
        " FROM customer_identifiers c WHERE c.hash = h.hash AND EXISTS ("
        " SELECT 1 FROM customer_identifiers s WHERE s.customer_key = c.customer_key"
        " AND s.kind = ANY($2) AND c.customer_key = 'k-' || left(s.hash, 32))"
        " LIMIT 2) AS c",
        sorted(set(hashes)),
        _STRONG,
    )
    return [
        linking.Claim(r["customer_key"], IdentifierKind(r["kind"]), r["hash"], r["verified"])
        for r in rows
    ]


async def cluster(conn: asyncpg.Connection, key: str) -> Cluster | None:
    """The keys that are one customer with `key`, or None when the key is unknown."""
    return (await clusters(conn, [key])).get(key)


async def _identifiers_of(
    conn: asyncpg.Connection, keys: list[str]
) -> dict[str, list[asyncpg.Record]]:
    rows = await conn.fetch(
        "SELECT customer_key, kind, hash FROM customer_identifiers WHERE customer_key = ANY($1)",
        keys,
    )
    found: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        found.setdefault(r["customer_key"], []).append(r)
    return found


async def clusters(conn: asyncpg.Connection, keys: list[str]) -> dict[str, Cluster]:
    """The cluster of each of these keys (unknown keys are absent), in a bounded number of
    queries however many keys there are: a weak key belongs to the one strong key that
    carries its identifier, a strong key absorbs the weak keys it alone carries
    (domain/customer/linking.py decides)."""
    if not keys:
        return {}
    rows_of = await _identifiers_of(conn, sorted(set(keys)))

    def strong(key: str) -> bool:
        return linking.is_strong_key(key, [(r["kind"], r["hash"]) for r in rows_of.get(key, [])])

    # A weak key belongs to the one strong key that carries its identifier.
    weak = {k for k in rows_of if not strong(k)}
    own = sorted({r["hash"] for k in weak for r in rows_of[k] if key_of(r["hash"]) == k})
    weak_owner = linking.owners(await claims_on(conn, own)) if own else {}
    root_of: dict[str, str] = {}
    for k in rows_of:
        link = weak_owner.get(k) if k in weak else None
        root_of[k] = link.owner if link is not None else k
    roots = sorted({r for k, r in root_of.items() if k not in weak or r != k})
    missing = [r for r in roots if r not in rows_of]
    if missing:
        rows_of.update(await _identifiers_of(conn, missing))
    # A strong key absorbs the weak keys it alone carries.
    weak_of = {
        root: sorted({r["hash"] for r in rows_of.get(root, []) if r["kind"] not in STRONG_KINDS})
        for root in roots
    }
    hashes = sorted({h for hs in weak_of.values() for h in hs})
    links = linking.owners(await claims_on(conn, hashes)) if hashes else {}
    present: set[str] = set()
    if hashes:
        present = {
            r["customer_key"]
            for r in await conn.fetch(
                "SELECT DISTINCT customer_key FROM customer_identifiers"
                " WHERE customer_key = ANY($1)",
                [key_of(h) for h in hashes],
            )
        }
    built: dict[str, Cluster] = {}
    for root in roots:
        carried = {key_of(h) for h in weak_of[root]} & present - {root}
        owned = sorted(
            (links[w] for w in carried if w in links and links[w].owner == root),
            key=lambda link: link.weak_key,
        )
        built[root] = Cluster(
            root,
            [root, *(link.weak_key for link in owned)],
            unverified=tuple(link.weak_key for link in owned if not link.verified),
            withheld=tuple(sorted(carried - {link.weak_key for link in owned})),
        )
    return {
        k: built[root_of[k]] if root_of[k] in built else Cluster(k, [k])
        for k in keys
        if k in rows_of and k in root_of
    }


async def keys_for_hashes(conn: asyncpg.Connection, hashes: list[str]) -> list[str]:
    """The customer keys that carry any of these identifier hashes."""
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


SHARED_THRESHOLD = 5
"""An identifier carried by more BSN/KvK customers than this is marked shared (the default of
CONTACTMOMENT_SHARED_IDENTIFIER_THRESHOLD)."""

OPEN_REQUESTS_SHOWN = 200  # per customer in a summary, the soonest due first


def key_root_pairs(groups: Any) -> tuple[list[str], list[str]]:
    """(key, root) of every key of these clusters, as two parallel arrays for unnest."""
    keys: list[str] = []
    roots: list[str] = []
    for group in groups:
        for key in group.keys:
            keys.append(key)
            roots.append(group.root)
    return keys, roots


async def summary(
    conn: asyncpg.Connection, group: Cluster, shared_threshold: int = SHARED_THRESHOLD
) -> dict[str, Any]:
    """The customer summary over every key of the cluster: masked identifiers (`shared`
    when more than `shared_threshold` BSN/KvK customers carry one), contact counts per
    channel, first and last contact, preferred channel, open requests."""
    return (await summaries(conn, [group], shared_threshold))[0]


async def summaries(
    conn: asyncpg.Connection, groups: list[Cluster], shared_threshold: int = SHARED_THRESHOLD
) -> list[dict[str, Any]]:
    """The summaries of these clusters, in their order, in four queries however many."""
    if not groups:
        return []
    keys, roots = key_root_pairs(groups)
    # An identifier is verified for this customer when a channel verified it on the root.
    idents = await conn.fetch(
        "SELECT DISTINCT ON (g.root, i.hash) g.root, i.kind, i.masked, i.hash,"
        " bool_or(i.verified AND i.customer_key = g.root)"
        " OVER (PARTITION BY g.root, i.hash) AS verified"
        " FROM customer_identifiers i JOIN unnest($1::text[], $2::text[]) AS g(key, root)"
        " ON i.customer_key = g.key"
        " ORDER BY g.root, i.hash, i.first_seen",
        keys,
        roots,
    )
    weak = sorted({r["hash"] for r in idents if r["kind"] not in STRONG_KINDS})
    carriers = {
        r["hash"]: r["carriers"]
        for r in await conn.fetch(
            # Counted up to one past the threshold: beyond it the answer is "shared" however
            # many carry it, and a number thousands share costs what one past it costs.
            "SELECT h.hash, (SELECT count(*) FROM (SELECT 1 FROM customer_identifiers i"
            " WHERE i.hash = h.hash AND EXISTS (SELECT 1 FROM customer_identifiers s"
            " WHERE s.customer_key = i.customer_key AND s.kind = ANY($2)"
            " AND i.customer_key = 'k-' || left(s.hash, 32)) LIMIT $3) AS n) AS carriers"
            " FROM unnest($1::text[]) AS h(hash)",
            weak,
            _STRONG,
            shared_threshold + 1,
        )
    }
    counts = await conn.fetch(
        "SELECT g.root, c.contact_count, c.channels, c.inbound_channels, c.first_contact_at,"
        " c.last_contact_at"
        " FROM customers c JOIN unnest($1::text[], $2::text[]) AS g(key, root)"
        " ON c.customer_key = g.key",
        keys,
        roots,
    )
    requests = await conn.fetch(
        f"SELECT * FROM (SELECT {worklist.REQUEST_COLUMNS}, g.root AS _root,"  # noqa: S608
        " row_number() OVER (PARTITION BY g.root"
        " ORDER BY r.due_at ASC NULLS LAST, r.opened_at ASC) AS _n"
        " FROM requests r JOIN unnest($1::text[], $2::text[]) AS g(key, root)"
        " ON r.customer_key = g.key"
        " WHERE r.status = ANY($3)) q WHERE _n <= $4"
        " ORDER BY due_at ASC NULLS LAST, opened_at ASC",
        keys,
        roots,
        worklist.OPEN_STATUSES,
        OPEN_REQUESTS_SHOWN,
    )
    return [
        _summary(
            group,
            [r for r in idents if r["root"] == group.root],
            carriers,
            shared_threshold,
            [r for r in counts if r["root"] == group.root],
            [r for r in requests if r["_root"] == group.root],
        )
        for group in groups
    ]


_ORDER = {"bsn": 0, "kvk": 1, "email": 2, "phone": 3}
_TIMES = ("opened_at", "acknowledged_at", "answered_at", "closed_at", "due_at")


def _summary(
    group: Cluster,
    idents: list[asyncpg.Record],
    carriers: dict[str, int],
    shared_threshold: int,
    counts: list[asyncpg.Record],
    requests: list[asyncpg.Record],
) -> dict[str, Any]:
    channels: dict[str, int] = {}
    inbound: dict[str, int] = {}
    for row in counts:
        for name, n in json_object(row["channels"]).items():
            channels[name] = channels.get(name, 0) + int(n)
        for name, n in json_object(row["inbound_channels"]).items():
            inbound[name] = inbound.get(name, 0) + int(n)
    firsts = [r["first_contact_at"] for r in counts if r["first_contact_at"]]
    lasts = [r["last_contact_at"] for r in counts if r["last_contact_at"]]
    open_requests = []
    for row in requests:
        item = {k: v for k, v in dict(row).items() if k not in ("_root", "_n")}
        open_requests.append({**item, **{k: iso(item[k]) for k in _TIMES}})
    return {
        "customer_key": group.root,
        "linked_keys": [
            {"customer_key": k, "verified": k not in group.unverified}
            for k in group.keys
            if k != group.root
        ],
        "identifiers": sorted(
            (
                {
                    "kind": r["kind"],
                    "masked": r["masked"],
                    "verified": r["verified"],
                    "shared": carriers.get(r["hash"], 0) > shared_threshold,
                }
                for r in idents
            ),
            key=lambda i: (_ORDER.get(i["kind"], 9), i["masked"]),
        ),
        "contact_count": sum(r["contact_count"] for r in counts),
        "channels": dict(sorted(channels.items())),
        "first_contact_at": iso(min(firsts)) if firsts else None,
        "last_contact_at": iso(max(lasts)) if lasts else None,
        "preferred_channel": most_used(inbound),
        "open_requests": open_requests,
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
    " AND ($3::text[] IS NULL OR event_type = ANY($3))"
)
TIMELINE_FIRST = _TIMELINE + " ORDER BY occurred_at DESC, event_id DESC LIMIT $2"
TIMELINE_AFTER = (
    _TIMELINE + " AND (occurred_at, event_id) < ($4, $5) ORDER BY occurred_at DESC,"
    " event_id DESC LIMIT $2"
)


async def timeline(
    conn: asyncpg.Connection,
    group: Cluster,
    limit: int | None,
    before: str | None,
    event_types: list[str] | None = None,
) -> dict[str, Any]:
    """Newest first over every key of the cluster (only `event_types` when given); `next`
    continues after the last item (`limit` None: all of it, one page)."""
    args: list[Any] = [group.keys, None if limit is None else limit + 1, event_types]
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
