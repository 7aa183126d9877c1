"""A realistic read model, generated: years of one municipality's contacts and requests with
the skew real data has, written by COPY into a (fresh, migrated) schema. The query-plan
test EXPLAINs every named query on it; the figures it yields are test-data figures.

The skew: one phone number (a family landline, a care home's reception) carried by
`shared_phone` customers, one customer with `heavy_contacts` contacts, one staff member who
makes a third of the access records, and four years of requests of which only the last
weeks' are still open.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from schemas.keys import key_of

P = "nl.contactmoment."
CONTACT = P + "contact.recorded.v1"
OPENED = P + "request.opened.v1"
ACKNOWLEDGED = P + "request.acknowledged.v1"
INTERIM = P + "request.interim-update.v1"
ANSWERED = P + "request.answered.v1"
RESOLVED = P + "request.resolved.v1"
WITHDRAWN = P + "request.withdrawn.v1"
SUSPENDED = P + "request.suspended.v1"
FEEDBACK = P + "feedback.given.v1"
WARNING = P + "deadline.warning.v1"
BREACHED = P + "deadline.breached.v1"
ESCALATED = P + "deadline.escalated.v1"
MET_LATE = P + "deadline.met-late.v1"

DEPARTMENTS = [
    "Burgerzaken",
    "Zorg",
    "Werk en Inkomen",
    "Belastingen",
    "Openbare Ruimte",
    "Vergunningen",
]
REQUEST_TYPES = ["callback", "complaint", "question", "report", "application"]  # RequestType
CHANNELS = ["phone", "counter", "web", "email"]
NOTIFICATION_KINDS = [
    "callback-missed",
    "deadline-breached",
    "interim-update-due",
    "repeat-contact",
]


@dataclass(frozen=True)
class Shape:
    """How much data, and how skewed."""

    years: int = 4
    bsn_customers: int = 50_000
    phone_only: int = 10_000
    email_only: int = 10_000
    shared_phone: int = 3_000
    heavy_contacts: int = 5_000
    contacts: int = 100_000
    requests: int = 30_000
    open_weeks: int = 10
    access_records: int = 50_000
    seed: int = 20261204


@dataclass
class Generated:
    """What the test needs to name: the skewed keys and a few typical ones."""

    now: datetime
    heavy_key: str = ""
    shared_phone_hash: str = ""
    shared_phone_key: str = ""
    sharing_key: str = ""
    typical_key: str = ""
    typical_request: str = ""
    heavy_staff: str = "medewerker-0001"
    counts: dict[str, int] = field(default_factory=dict)


def _hash(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(bytes=rng.randbytes(16), version=4)


async def generate(
    conn: asyncpg.Connection, schema: str, now: datetime, shape: Shape = Shape()
) -> Generated:
    """Fill the (empty, migrated) read model in `schema`; returns the keys worth querying."""
    rng = random.Random(shape.seed)
    out = Generated(now=now)
    start = now - timedelta(days=365 * shape.years)

    def when(after: datetime | None = None) -> datetime:
        base = after or start
        return base + timedelta(seconds=rng.random() * (now - base).total_seconds())

    idents: list[tuple[Any, ...]] = []
    bsn_keys: list[str] = []
    for _ in range(shape.bsn_customers):
        h = _hash(rng)
        key = key_of(h)
        bsn_keys.append(key)
        seen = when()
        idents.append((key, h, "bsn", "*****" + h[:4], seen, True))
        if rng.random() < 0.5:  # an e-mail address of their own, also a key of its own
            e = _hash(rng)
            idents.append((key, e, "email", "a***@example.nl", seen, rng.random() < 0.3))
            idents.append((key_of(e), e, "email", "a***@example.nl", seen, False))
    weak_keys: list[str] = []
    for kind, n in (("phone", shape.phone_only), ("email", shape.email_only)):
        for _ in range(n):
            h = _hash(rng)
            weak_keys.append(key_of(h))
            idents.append((key_of(h), h, kind, "06****" + h[:4], when(), False))
    shared = _hash(rng)
    out.shared_phone_hash, out.shared_phone_key = shared, key_of(shared)
    idents.append((key_of(shared), shared, "phone", "0201****", start, False))
    for key in bsn_keys[: shape.shared_phone]:
        idents.append((key, shared, "phone", "0201****", when(), rng.random() < 0.2))
    out.sharing_key = bsn_keys[0]
    out.heavy_key = bsn_keys[-1]
    out.typical_key = bsn_keys[len(bsn_keys) // 2]
    weak_keys.append(out.shared_phone_key)
    all_keys = bsn_keys + weak_keys

    # Requests over the years; those opened in the last weeks are mostly still open.
    requests: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    signals: list[tuple[Any, ...]] = []
    notifications: list[tuple[Any, ...]] = []
    timeline: list[tuple[Any, ...]] = []
    recent = now - timedelta(weeks=shape.open_weeks)
    request_ids: list[tuple[str, str, datetime]] = []
    for i in range(shape.requests):
        rid = f"r-{i:08d}"
        key = out.heavy_key if i % 200 == 0 else rng.choice(all_keys)
        opened = when()
        due = opened + timedelta(days=rng.choice([2, 5, 14, 28, 56]))
        channel = rng.choice(CHANNELS)
        rtype, dept = rng.choice(REQUEST_TYPES), rng.choice(DEPARTMENTS)
        if opened > recent and rng.random() < 0.7:
            status = "suspended" if rng.random() < 0.1 else "open"
            ack, answered, closed = opened + timedelta(hours=4), None, None
            due_at = None if status == "suspended" else due
        else:
            status = rng.choice(["answered", "resolved", "resolved", "resolved", "withdrawn"])
            ack = opened + timedelta(hours=rng.randint(1, 48))
            closed = min(now, opened + timedelta(days=rng.random() * 70))
            answered = closed if status != "withdrawn" else None
            due_at = due
        requests.append(
            (
                rid,
                key,
                rtype,
                rng.choice(["wmo", "paspoort", "afval", "parkeren"]),
                channel,
                dept,
                rng.random() < 0.05,
                opened,
                status,
                ack,
                answered,
                closed,
                due_at,
                closed or ack,
            )
        )
        request_ids.append((rid, key, opened))
        steps = [(OPENED, opened), (ACKNOWLEDGED, ack)]
        if rng.random() < 0.25:
            steps.append((INTERIM, ack + timedelta(days=1)))
        if status == "suspended":
            steps.append((SUSPENDED, ack + timedelta(hours=1)))
        if closed is not None:
            steps.append(
                (
                    {"answered": ANSWERED, "resolved": RESOLVED, "withdrawn": WITHDRAWN}[status],
                    closed,
                )
            )
        for etype, at in steps:
            eid = _uuid(rng)
            history.append((eid, rid, key, etype, at, "{}"))
            timeline.append((eid, key, at, etype, channel, None, None, None, rid, None, "{}"))
        late = (closed or now) > due
        if late or rng.random() < 0.2:
            signals.append((_uuid(rng), rid, key, WARNING, due - timedelta(days=1), due, due, "{}"))
        if late:
            signals.append((_uuid(rng), rid, key, BREACHED, due, due, due, "{}"))
            if rng.random() < 0.3:
                signals.append(
                    (_uuid(rng), rid, key, ESCALATED, due + timedelta(days=1), due, due, "{}")
                )
            if closed is not None:
                signals.append((_uuid(rng), rid, key, MET_LATE, closed, due, closed, "{}"))
        if rng.random() < 0.4:
            notifications.append(
                (
                    _uuid(rng),
                    f"n-{i:08d}",
                    key,
                    rng.choice(NOTIFICATION_KINDS[:3]),
                    "resident",
                    channel,
                    rid,
                    "Uw verzoek is in behandeling.",
                    ack + timedelta(hours=2),
                )
            )
    out.typical_request = request_ids[len(request_ids) // 3][0]

    # Contacts: one customer has thousands; an outbound call is mostly about a request.
    for i in range(shape.contacts + shape.heavy_contacts):
        if i < shape.heavy_contacts:
            key = out.heavy_key
        else:
            key = rng.choice(all_keys)
        outbound = rng.random() < 0.2
        about: str | None = None
        at = when()
        if i >= shape.heavy_contacts and (outbound or rng.random() < 0.15):
            about, key, opened = request_ids[rng.randrange(len(request_ids))]
            at = when(opened)
        channel = rng.choice(CHANNELS)
        outcome = rng.choice(["answered", "served", "forwarded", "callback"])
        timeline.append(
            (
                _uuid(rng),
                key,
                at,
                CONTACT,
                channel,
                "outbound" if outbound else "inbound",
                "wmo",
                outcome,
                about,
                "contact",
                "{}",
            )
        )
        if rng.random() < 0.05:
            timeline.append(
                (
                    _uuid(rng),
                    key,
                    at + timedelta(hours=1),
                    FEEDBACK,
                    channel,
                    None,
                    None,
                    None,
                    None,
                    None,
                    json.dumps({"score": rng.randint(1, 5)}),
                )
            )
        if rng.random() < 0.03:
            notifications.append(
                (
                    _uuid(rng),
                    f"n-c{i:08d}",
                    key,
                    "repeat-contact",
                    "staff",
                    None,
                    None,
                    "Herhaald contact.",
                    at,
                )
            )

    # The per-key aggregates the projector keeps.
    agg: dict[str, list[Any]] = {}
    for row in timeline:
        if row[3] != CONTACT:
            continue
        a = agg.setdefault(row[1], [0, {}, {}, row[2], row[2], None])
        a[0] += 1
        a[1][row[4]] = a[1].get(row[4], 0) + 1
        if row[5] == "inbound":
            a[2][row[4]] = a[2].get(row[4], 0) + 1
            a[5] = row[2] if a[5] is None else max(a[5], row[2])
        a[3], a[4] = min(a[3], row[2]), max(a[4], row[2])
    customers = [
        (key, a[0], json.dumps(a[1]), json.dumps(a[2]), a[3], a[4], a[5]) for key, a in agg.items()
    ]

    # The access log: one staff member makes a third of it; the heavy customer is read often.
    access: list[tuple[Any, ...]] = []
    for i in range(shape.access_records):
        staff = out.heavy_staff if i % 3 == 0 else f"medewerker-{rng.randint(2, 300):04d}"
        key = out.heavy_key if i % 20 == 0 else rng.choice(all_keys)
        access.append(
            (
                _uuid(rng),
                when(),
                key,
                rng.randbytes(16).hex(),
                rng.randbytes(8).hex(),
                "klant raadplegen",
                "GET /v1/customers/{key}",
                "dienstverlening",
                None,
                staff,
                "klantcontact",
                rng.choice(DEPARTMENTS),
            )
        )

    tables: dict[str, tuple[list[tuple[Any, ...]], list[str]]] = {
        "customer_identifiers": (
            idents,
            ["customer_key", "hash", "kind", "masked", "first_seen", "verified"],
        ),
        "customers": (
            customers,
            [
                "customer_key",
                "contact_count",
                "channels",
                "inbound_channels",
                "first_contact_at",
                "last_contact_at",
                "last_inbound_at",
            ],
        ),
        "requests": (
            requests,
            [
                "request_id",
                "customer_key",
                "request_type",
                "subject",
                "channel",
                "department",
                "vulnerable",
                "opened_at",
                "status",
                "acknowledged_at",
                "answered_at",
                "closed_at",
                "due_at",
                "updated_at",
            ],
        ),
        "request_history": (
            history,
            ["event_id", "request_id", "customer_key", "event_type", "occurred_at", "data"],
        ),
        "signals": (
            signals,
            [
                "event_id",
                "request_id",
                "customer_key",
                "event_type",
                "occurred_at",
                "due_at",
                "detected_at",
                "data",
            ],
        ),
        "notifications": (
            notifications,
            [
                "event_id",
                "notification_id",
                "customer_key",
                "kind",
                "audience",
                "channel",
                "request_id",
                "message",
                "occurred_at",
            ],
        ),
        "timeline": (
            timeline,
            [
                "event_id",
                "customer_key",
                "occurred_at",
                "event_type",
                "channel",
                "direction",
                "subject",
                "outcome",
                "request_id",
                "summary",
                "data",
            ],
        ),
        "access_log": (
            access,
            [
                "event_id",
                "occurred_at",
                "customer_key",
                "trace_id",
                "span_id",
                "name",
                "endpoint",
                "purpose",
                "processing_activity",
                "staff_subject",
                "role",
                "department",
            ],
        ),
    }
    for table, (rows, columns) in tables.items():
        await conn.copy_records_to_table(table, records=rows, columns=columns, schema_name=schema)
        out.counts[table] = len(rows)
    # As autovacuum leaves a table that has settled: statistics and the visibility map.
    await conn.execute("VACUUM (ANALYZE) " + ", ".join(f"{schema}.{t}" for t in tables))
    return out


class Recorder:
    """A connection that records each statement a query function sends (and its values), so
    the plan test EXPLAINs exactly what the named queries run."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.statements.append((sql, args))
        rows: list[asyncpg.Record] = await self.conn.fetch(sql, *args)
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        self.statements.append((sql, args))
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append((sql, args))
        return await self.conn.fetchval(sql, *args)


async def explain(conn: asyncpg.Connection, sql: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, FORMAT JSON) of one statement with its values: the plan and times."""
    text = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
    result: dict[str, Any] = json.loads(text)[0]
    return result


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a plan tree, the root first."""
    found = [plan]
    for child in plan.get("Plans", []):
        found += nodes(child)
    return found
