"""The volume benchmark's generator: deterministic, valid, sealed, skewed as promised."""

from __future__ import annotations

from datetime import UTC, datetime

from stdnum.nl import bsn as stdnum_bsn

from benchmarks.volume_data import (
    DataKeys,
    Identities,
    Volume,
    bsn_for,
    events,
    plan,
)
from schemas.envelope import decode, encode
from schemas.events import EventType
from schemas.keys import Pseudonymiser
from schemas.sealed import is_sealed
from services.privacy import crypto
from services.privacy.sealing import key_ids, open_event, plain_fields

ANCHOR = datetime(2026, 12, 1, tzinfo=UTC)
SMALL = Volume.at(0.01)


def test_bsns_pass_the_11_check_and_differ() -> None:
    made = {bsn_for(n) for n in range(2000)}
    assert len(made) == 2000  # distinct people, distinct BSNs
    assert all(stdnum_bsn.is_valid(b) for b in made)


def test_the_plan_is_deterministic_per_seed() -> None:
    a, b, c = plan(SMALL, 7, ANCHOR), plan(SMALL, 7, ANCHOR), plan(SMALL, 8, ANCHOR)
    assert a.rows == b.rows and a.people == b.people
    assert a.rows != c.rows


def test_volume_and_time_span() -> None:
    p = plan(SMALL, 1, ANCHOR)
    counts = p.counts()
    assert counts["contact"] == SMALL.contacts == 10_000
    assert counts["opened"] == SMALL.requests == 1_500
    assert len(p.people) == SMALL.customers == 2_000
    times = [t for t, _, _ in p.rows]
    assert times == sorted(times) and times[-1] < ANCHOR
    assert (ANCHOR - times[0]).days > 365 * 4.9
    # realistic lifecycles: most acknowledged and answered, some of everything else
    for kind in ("acknowledged", "answered", "resolved", "breached", "suspended", "extended"):
        assert counts.get(kind, 0) > 0, kind
    assert counts["answered"] > counts["opened"] * 0.7


def test_skew_shared_identifiers_and_rich_customers() -> None:
    p = plan(Volume.at(0.1), 3, ANCHOR)
    sharers = sum(1 for person in p.people if person.phone == p.shared_phones[0][0])
    assert sharers == p.shared_phones[0][1] == 500  # 5,000 at full volume
    assert all(person.bsn for person in p.people if person.phone == p.shared_phones[0][0])
    assert p.contact_counts[p.rich[0]] >= 400  # 4,000 at full volume
    assert p.people[p.rich[0]].bsn


def test_events_are_valid_and_sealed_with_keys_that_open_them() -> None:
    p = plan(Volume(contacts=300, requests=60, customers=40), 5, ANCHOR)
    keys = DataKeys(crypto.master_key("test-master-key-material"))
    made = list(events(p, "t1", Identities(Pseudonymiser("t" * 16), p.people), keys))
    assert len(made) == len(p.rows)
    by_id = {key_id: (customer, key) for (customer, _), (key_id, key) in keys.keys.items()}
    types = set()
    for event in made:
        again = decode(encode(event))  # valid on the wire
        types.add(again.type)
        assert not plain_fields(again)
        for key_id in key_ids(again):
            owner, _ = by_id[key_id]
            assert owner == again.subject  # the projector checks the key's owner
        opened = open_event(again, {k: v for k, (_, v) in by_id.items()})
        if again.type == EventType.CONTACT_RECORDED:
            assert all(is_sealed(i.masked) for i in again.data.identifiers)  # type: ignore[attr-defined]
            assert not is_sealed(opened.data.identifiers[0].masked)  # type: ignore[attr-defined]
    assert EventType.DEADLINE_BREACHED in types and EventType.REQUEST_OPENED in types
    rows = list(keys.rows())
    assert len(rows) == len(keys.keys)
    key_id, _, _, wrapped = rows[0]
    assert crypto.unwrap(keys.master, key_id, wrapped) == by_id[key_id][1]


def _figures(
    p99: float, statuses: dict[str, int] | None = None, gauges: float = 0.01
) -> dict[str, object]:
    read = {"statuses": statuses or {"200": 50}, "p99_ms": p99}
    return {
        "reads": {"timeline_first_page": read, "kpis_5y": read, "_about": {}},
        "ingest_with_gauges": {"p99_ms": 20.0, "accepted_per_s": 199.0},
        "projector": {"events_per_s": 1},
        "reference_raw_asyncpg_copy": {"events_per_s": 2},
        "database": {"total_mb": 1.0},
        "gauges": {"share_of_a_core": gauges},
    }


def test_verdicts_judge_limit_growth_and_errors() -> None:
    from benchmarks.volume import verdicts

    ok = verdicts(_figures(30.0), _figures(25.0))
    assert ok["timeline_first_page"]["met"] and ok["timeline_first_page"]["growth"] == 1.2
    grown = verdicts(_figures(45.0), _figures(20.0))  # under 50 ms but 2.25x the 1/10 figure
    assert not grown["timeline_first_page"]["met"]
    assert grown["kpis_5y"]["met"]  # KPIs: 200 ms whatever the growth
    slow = verdicts(_figures(60.0), _figures(59.0))
    assert not slow["timeline_first_page"]["met"]
    failed = verdicts(_figures(10.0, {"200": 40, "timeout": 10}), _figures(10.0))
    assert not failed["timeline_first_page"]["met"]
    assert failed["timeline_first_page"]["errors"] == {"timeout": 10}
    assert ok["ingest_with_gauges"]["met"]
    assert ok["gauges_share_of_a_core"]["met"]
    costly = verdicts(_figures(30.0, gauges=0.2), _figures(25.0))
    assert not costly["gauges_share_of_a_core"]["met"]
    assert costly["gauges_share_of_a_core"]["full"] == 0.2


def test_shares_split_the_events_without_overlap_or_loss() -> None:
    p = plan(Volume(contacts=200, requests=40, customers=30), 2, ANCHOR)
    ids = Identities(Pseudonymiser("t" * 16), p.people)
    master = crypto.master_key("test-master-key-material")
    whole = [e.id for e in events(p, "s", ids, DataKeys(master))]
    parts = [[e.id for e in events(p, "s", ids, DataKeys(master), (k, 2))] for k in (0, 1)]
    assert sorted(parts[0] + parts[1]) == sorted(whole) and parts[0] and parts[1]
    assert not set(parts[0]) & set(parts[1])
