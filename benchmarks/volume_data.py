"""Years of a municipality's history for benchmarks/volume.py: a deterministic plan, then
valid events built through the project's models and sealed as the API seals them.

The plan (`plan`) is pure and cheap: customers, contacts and request lifecycles as small
tuples, ordered by time, the same for the same seed and anchor. `events` turns it into
envelopes, sealing every personal text with the customer's data key for the month
(`DataKeys` makes the keys and the rows to COPY into privacy.data_keys in one go).

Skew on purpose: a few phone numbers and e-mail addresses shared by thousands of BSN
customers (their contacts carry them), and a few customers with thousands of contacts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.envelope import Envelope, encode, new_event
from schemas.events import (
    Actor,
    ContactRecorded,
    DeadlineBreached,
    EventType,
    RequestAcknowledged,
    RequestAnswered,
    RequestExtended,
    RequestOpened,
    RequestReopened,
    RequestResolved,
    RequestResumed,
    RequestSuspended,
    RequestWithdrawn,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Identifier, Pseudonymiser, customer_key
from services.privacy import crypto
from services.privacy.sealing import period_of, plain_fields, seal_event

SOURCE = "urn:contactmoment:bench-volume"
# Full volume (scale 1.0): five years of a mid-sized municipality.
CONTACTS, REQUESTS, CUSTOMERS, YEARS = 1_000_000, 150_000, 200_000, 5
# Identifiers shared by many customers at scale 1.0 (the sizes scale with the customers).
SHARED_PHONES = (5_000, 2_000, 1_000)
SHARED_EMAILS = (3_000, 1_000)
# Customers with thousands of contacts at scale 1.0.
RICH_CONTACTS = (4_000, 2_500, 1_500)
CHANNELS = ("phone", "counter", "web", "email")
CHANNEL_WEIGHTS = (45, 15, 25, 15)
SUBJECTS = (
    "paspoort",
    "rijbewijs",
    "parkeervergunning",
    "afval",
    "bijstand",
    "verhuizing",
    "WOZ",
    "omgevingsvergunning",
)
DEPARTMENTS = ("burgerzaken", "belastingen", "werk-en-inkomen", "vergunningen", "wijkbeheer")
REQUEST_TYPES = ("question", "callback", "complaint", "application", "report")
NORM_DAYS = {"question": 14, "callback": 2, "complaint": 42, "application": 56, "report": 28}


@dataclass(frozen=True)
class Volume:
    contacts: int
    requests: int
    customers: int
    years: float = YEARS

    @classmethod
    def at(cls, scale: float) -> Volume:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        return cls(
            contacts=max(10, round(CONTACTS * scale)),
            requests=max(2, round(REQUESTS * scale)),
            customers=max(20, round(CUSTOMERS * scale)),
        )


@dataclass(frozen=True)
class Person:
    index: int
    bsn: str | None
    phone: str | None
    email: str | None


def bsn_for(n: int) -> str:
    """A valid (11-check) nine-digit BSN, a different one for each n < 9,000,000: eight
    digits 10·n + j (the first j of 0…9 whose check digit is not 10), then the check digit."""
    for j in range(10):
        digits = f"{10_000_000 + (n % 9_000_000) * 10 + j:08d}"[-8:]
        total = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        check = total % 11  # 9*d1 + … + 2*d8 - 1*d9 ≡ 0 (mod 11)
        if check < 10:
            return digits + str(check)
    raise AssertionError("unreachable: the last digit's weight 2 reaches every residue")


@dataclass
class Plan:
    """Who exists and what happened, ordered by time: rows are (time, kind, fields)."""

    volume: Volume
    seed: int
    anchor: datetime
    people: list[Person]
    rows: list[tuple[datetime, str, dict[str, Any]]]
    shared_phones: list[tuple[str, int]] = field(default_factory=list)  # (number, customers)
    shared_emails: list[tuple[str, int]] = field(default_factory=list)
    rich: list[int] = field(default_factory=list)  # people indexes, richest first
    contact_counts: dict[int, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, kind, _ in self.rows:
            out[kind] = out.get(kind, 0) + 1
        return out


def _shared_sizes(sizes: tuple[int, ...], volume: Volume) -> list[int]:
    scale = volume.customers / CUSTOMERS
    return [max(2, min(volume.customers // 8, round(s * scale))) for s in sizes]


def plan(volume: Volume, seed: int, anchor: datetime) -> Plan:
    """The whole history as a deterministic plan (same seed and anchor, same plan)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    n = volume.customers
    people: list[Person] = []
    for i in range(n):
        has_bsn = rng.random() < 0.85
        phone = f"06{20_000_000 + i:08d}" if (not has_bsn or rng.random() < 0.6) else None
        email = f"inwoner{i}@voorbeeld.nl" if (phone is None or rng.random() < 0.3) else None
        people.append(Person(i, bsn_for(seed * 7_919 + i) if has_bsn else None, phone, email))
    bsn_people = [p.index for p in people if p.bsn]
    shared_phones: list[tuple[str, int]] = []
    shared_emails: list[tuple[str, int]] = []
    pool = bsn_people[:]
    rng.shuffle(pool)
    at = 0
    for k, size in enumerate(_shared_sizes(SHARED_PHONES, volume)):
        number = f"0201{k:06d}"  # a landline of an institution, a care home, a shelter
        for idx in pool[at : at + size]:
            people[idx] = Person(idx, people[idx].bsn, number, people[idx].email)
        shared_phones.append((number, len(pool[at : at + size])))
        at += size
    for k, size in enumerate(_shared_sizes(SHARED_EMAILS, volume)):
        address = f"post{k}@zorginstelling.nl"
        for idx in pool[at : at + size]:
            people[idx] = Person(idx, people[idx].bsn, people[idx].phone, address)
        shared_emails.append((address, len(pool[at : at + size])))
        at += size
    # Skewed contact counts: a few rich BSN customers, the rest Pareto-weighted.
    scale = volume.contacts / CONTACTS
    rich = [idx for idx in bsn_people[:3]]
    rich_counts = [max(5, round(c * scale)) for c in RICH_CONTACTS][: len(rich)]
    weights = [rng.paretovariate(1.3) for _ in range(n)]
    cumulative: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    owners: list[int] = []
    for idx, count in zip(rich, rich_counts, strict=True):
        owners += [idx] * count
    rest = max(0, volume.contacts - len(owners))
    owners += rng.choices(range(n), cum_weights=cumulative, k=rest)
    owners = owners[: volume.contacts]
    span = timedelta(days=365.25 * volume.years).total_seconds()
    start = anchor - timedelta(seconds=span)
    rows: list[tuple[datetime, str, dict[str, Any]]] = []
    counts: dict[int, int] = {}
    for i, owner in enumerate(owners):
        when = start + timedelta(seconds=rng.random() * span)
        counts[owner] = counts.get(owner, 0) + 1
        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        rows.append(
            (
                when,
                "contact",
                {
                    "i": i,
                    "person": owner,
                    "channel": channel,
                    "subject": rng.choice(SUBJECTS),
                    "summary": rng.random() < 0.6,
                    "inbound": rng.random() < 0.85,
                },
            )
        )
    requesters = rng.choices(range(n), cum_weights=cumulative, k=volume.requests)
    for r, owner in enumerate(requesters):
        opened = start + timedelta(seconds=rng.random() * span)
        rows += _lifecycle(rng, r, owner, opened, anchor)
    rows = [row for row in rows if row[0] < anchor]
    rows.sort(key=lambda row: row[0])
    return Plan(volume, seed, anchor, people, rows, shared_phones, shared_emails, rich, counts)


def _lifecycle(
    rng: random.Random, r: int, owner: int, opened: datetime, anchor: datetime
) -> list[tuple[datetime, str, dict[str, Any]]]:
    """opened → acknowledged → answered → resolved, with suspensions, extensions,
    reopenings, withdrawals and breaches at realistic rates."""
    request_type = rng.choice(REQUEST_TYPES)
    base = {"r": r, "person": owner}
    norm = timedelta(days=NORM_DAYS[request_type])
    due = opened + norm
    out: list[tuple[datetime, str, dict[str, Any]]] = [
        (
            opened,
            "opened",
            {
                **base,
                "request_type": request_type,
                "department": rng.choice(DEPARTMENTS),
                "channel": rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0],
                "subject": rng.choice(SUBJECTS),
                "vulnerable": rng.random() < 0.03,
            },
        )
    ]
    t = opened + timedelta(hours=rng.uniform(0.5, 48))
    if rng.random() < 0.95:
        out.append((t, "acknowledged", base))
    if rng.random() < 0.03:
        out.append((t + timedelta(days=rng.uniform(1, 10)), "withdrawn", base))
        return out
    if rng.random() < 0.10:
        suspended = t + timedelta(days=rng.uniform(1, 5))
        resumed = suspended + timedelta(days=rng.uniform(1, 10))
        out += [(suspended, "suspended", base), (resumed, "resumed", base)]
        t = resumed
        due += resumed - suspended
    if rng.random() < 0.05:
        out.append((t + timedelta(days=1), "extended", base))
        due += timedelta(weeks=2)
    late = rng.random() < 0.08
    answer = (
        due + timedelta(days=rng.uniform(1, 20)) if late else t + (due - t) * rng.uniform(0.1, 0.95)
    )
    if late:
        signal = {**base, "request_type": request_type, "opened_at": opened, "due_at": due}
        out.append((due + timedelta(hours=1), "breached", signal))
    out.append((answer, "answered", base))
    if rng.random() < 0.04:
        reopened = answer + timedelta(days=rng.uniform(1, 14))
        out += [
            (reopened, "reopened", base),
            (reopened + timedelta(days=rng.uniform(1, 14)), "answered2", base),
        ]
        answer = reopened + timedelta(days=14)
    if rng.random() < 0.6:
        out.append((answer + timedelta(days=rng.uniform(1, 7)), "resolved", base))
    # Requests still running at the anchor stay open (suspended, or past due: overdue).
    return [row for row in out if row[0] < anchor]


class DataKeys:
    """One data key per (customer key, month), made on first use; `rows()` is what to COPY
    into privacy.data_keys (wrapped by the master key)."""

    def __init__(self, master: bytes) -> None:
        self.master = master
        self.keys: dict[tuple[str, date], tuple[str, bytes]] = {}

    def key_for(self, customer: str, period: date) -> tuple[str, bytes]:
        found = self.keys.get((customer, period))
        if found is None:
            found = self.keys[(customer, period)] = (crypto.new_key_id(), crypto.new_data_key())
        return found

    def rows(self) -> Iterator[tuple[str, str, date, bytes]]:
        for (customer, period), (key_id, key) in self.keys.items():
            yield key_id, customer, period, crypto.wrap(self.master, key_id, key)


class Identities:
    """Each person's identifiers, hashed and masked once (the pseudonym key of the API)."""

    def __init__(self, pseudonyms: Pseudonymiser, people: list[Person]) -> None:
        self.p = pseudonyms
        self.people = people
        self.cache: dict[int, dict[str, Identifier]] = {}

    def of(self, index: int) -> dict[str, Identifier]:
        found = self.cache.get(index)
        if found is None:
            person = self.people[index]
            found = {}
            if person.bsn:
                found["bsn"] = self.p.identifier(IdentifierKind.BSN, person.bsn)
            if person.phone:
                found["phone"] = self.p.identifier(IdentifierKind.PHONE, person.phone)
            if person.email:
                found["email"] = self.p.identifier(IdentifierKind.EMAIL, person.email)
            self.cache[index] = found
        return found

    def key(self, index: int) -> str:
        return customer_key(self.of(index).values())


def request_id(run: str, r: int) -> str:
    return f"vol-{run}-{r}"


def events(
    plan: Plan, run: str, identities: Identities, keys: DataKeys, share: tuple[int, int] = (0, 1)
) -> Iterator[Envelope]:
    """The plan as envelopes in time order, personal text sealed (as the API does).

    `share` (k, n): only the events of people whose index is k modulo n, so that n
    processes can build the history side by side (each person's events stay in order in
    one of them, and their customer keys and data keys are theirs alone)."""
    opened: dict[int, dict[str, Any]] = {}
    agent = Actor(kind="employee", id="medewerker-07", department="KCC")
    mine, shares = share
    for when, kind, f in plan.rows:
        person = f["person"]
        if person % shares != mine:
            continue
        key = identities.key(person)
        ids = identities.of(person)
        event: Envelope
        if kind == "contact":
            channel = f["channel"]
            carried = [ids[k] for k in ("bsn",) if k in ids]
            contact_id = "phone" if channel in ("phone", "counter") else "email"
            if contact_id in ids:
                carried.append(ids[contact_id])
            if not carried:
                carried = list(ids.values())
            event = new_event(
                EventType.CONTACT_RECORDED,
                source=SOURCE,
                source_id=f"{run}-c{f['i']}",
                subject=customer_key(carried),
                time=when,
                data=ContactRecorded(
                    channel=channel,
                    direction="inbound" if f["inbound"] else "outbound",
                    subject=f["subject"],
                    outcome="answered",
                    identifiers=carried,
                    summary=f"Vraag over {f['subject']}, doorverwezen." if f["summary"] else None,
                    actor=agent if channel in ("phone", "counter") else None,
                ),
            )
        else:
            rid = request_id(run, f["r"])
            source_id = f"{run}-r{f['r']}"
            if kind == "opened":
                opened[f["r"]] = f
                event = new_event(
                    EventType.REQUEST_OPENED,
                    source=SOURCE,
                    source_id=source_id,
                    subject=key,
                    time=when,
                    data=RequestOpened(
                        request_id=rid,
                        request_type=f["request_type"],
                        subject=f["subject"],
                        channel=f["channel"],
                        department=f["department"],
                        vulnerable=f["vulnerable"],
                    ),
                )
            elif kind == "breached":
                first = opened[f["r"]]
                event = new_event(
                    EventType.DEADLINE_BREACHED,
                    source=SOURCE,
                    source_id=source_id,
                    subject=key,
                    time=when,
                    data=DeadlineBreached(
                        request_id=rid,
                        request_type=f["request_type"],
                        department=first["department"],
                        opened_at=f["opened_at"],
                        due_at=f["due_at"],
                        norm=f["request_type"],
                        detected_at=when,
                    ),
                )
            else:
                event = _lifecycle_event(kind, rid, source_id, key, when, agent)
        if plain_fields(event):
            key_id, data_key = keys.key_for(event.subject, period_of(event.time))
            event = seal_event(event, key_id, data_key)
        yield event


def _lifecycle_event(
    kind: str, rid: str, source_id: str, key: str, when: datetime, agent: Actor
) -> Envelope:
    models: dict[str, tuple[EventType, Any, dict[str, Any]]] = {
        "acknowledged": (EventType.REQUEST_ACKNOWLEDGED, RequestAcknowledged, {}),
        "suspended": (EventType.REQUEST_SUSPENDED, RequestSuspended, {}),
        "resumed": (EventType.REQUEST_RESUMED, RequestResumed, {}),
        "extended": (EventType.REQUEST_EXTENDED, RequestExtended, {"extension": "P2W"}),
        "withdrawn": (EventType.REQUEST_WITHDRAWN, RequestWithdrawn, {}),
        "answered": (EventType.REQUEST_ANSWERED, RequestAnswered, {}),
        "answered2": (EventType.REQUEST_ANSWERED, RequestAnswered, {}),
        "reopened": (EventType.REQUEST_REOPENED, RequestReopened, {"reason": "Niet opgelost."}),
        "resolved": (EventType.REQUEST_RESOLVED, RequestResolved, {}),
    }
    event_type, model, extra = models[kind]
    return new_event(
        event_type,
        source=SOURCE,
        source_id=source_id,
        subject=key,
        time=when,
        data=model(request_id=rid, actor=agent, **extra),
        part="2" if kind == "answered2" else "",
    )


def anchor_now() -> datetime:
    """The run's 'now', to the second (a plan's times are relative to it)."""
    return datetime.now(UTC).replace(microsecond=0)


Built = tuple[str, str, str, datetime, bytes]  # id, subject, type, time, encoded record
CHUNK = 2_000


def build_share(
    volume: Volume,
    seed: int,
    anchor: datetime,
    run: str,
    pseudonym_key: str,
    master: bytes,
    share: tuple[int, int],
    out: Any,
) -> None:
    """In a process of its own: plan again (deterministic), build and encode this share of
    the events, put them on `out` in chunks, then ("keys", rows) and ("done", count)."""
    p = plan(volume, seed, anchor)
    identities = Identities(Pseudonymiser(pseudonym_key), p.people)
    keys = DataKeys(master)
    chunk: list[Built] = []
    count = 0
    for event in events(p, run, identities, keys, share):
        chunk.append((event.id, event.subject, event.type.value, event.time, encode(event)))
        count += 1
        if len(chunk) >= CHUNK:
            out.put(("events", chunk))
            chunk = []
    if chunk:
        out.put(("events", chunk))
    out.put(("keys", list(keys.rows())))
    out.put(("done", count))
