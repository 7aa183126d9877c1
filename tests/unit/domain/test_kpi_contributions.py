"""What one request or event adds to the KPIs (domain/kpi_contributions.py): the rows, and
that summing them per window, the way the read model does, equals the from-scratch tally."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain import kpi_contributions as kc
from domain.clock.norms import load
from domain.kpis import KpiFacts, RequestFacts, count

# Calendar-time norms (callback 4 s, question 30 s with interim every 3 s, complaint 6 s
# with an acknowledgement within 3 s): the arithmetic below is plain seconds.
CATALOGUE = load(Path(__file__).parents[2] / "e2e" / "fast-norms.toml")
T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def request(kind: str, opened: datetime = T, **given: object) -> RequestFacts:
    facts: dict[str, object] = {
        "request_type": kind,
        "subject": "algemeen",
        "channel": "web",
        "opened_at": opened,
        "status": "open",
        "acknowledged_at": None,
        "answered_at": None,
        "closed_at": None,
        "due_at": None,
        "interim_update": False,
        "outbound_before_answer": False,
    }
    return RequestFacts(**{**facts, **given})  # type: ignore[arg-type]


def rows(r: RequestFacts) -> dict[str, kc.Contribution]:
    return {c.metric: c for c in kc.request_contributions(r, CATALOGUE)}


def test_a_complaint_counts_its_acknowledgement_on_the_day_it_was_opened() -> None:
    on_time = rows(request("complaint", acknowledged_at=T + 3 * S))
    late = rows(request("complaint", acknowledged_at=T + 4 * S))
    assert on_time[kc.ACKNOWLEDGED] == kc.Contribution(kc.ACKNOWLEDGED, "", T, 1, 1)
    assert late[kc.ACKNOWLEDGED].numerator == 0
    assert kc.ACKNOWLEDGED not in rows(request("question"))  # no acknowledgement term


def test_an_answer_counts_per_type_on_the_day_it_was_given() -> None:
    r = rows(request("callback", answered_at=T + 2 * S, due_at=T + 4 * S, status="answered"))
    assert r[kc.ANSWERED] == kc.Contribution(kc.ANSWERED, "callback", T + 2 * S, 1, 1)
    assert kc.LONG_OPEN not in r  # answered before it was long open
    late = rows(request("callback", answered_at=T + 5 * S, due_at=T + 4 * S))
    assert late[kc.ANSWERED].numerator == 0


def test_a_close_counts_resolved_of_answered_and_ends_a_long_open_request() -> None:
    r = rows(
        request(
            "question",
            status="resolved",
            answered_at=T + 9 * S,
            closed_at=T + 12 * S,
            interim_update=True,
        )
    )
    assert r[kc.RESOLVED] == kc.Contribution(kc.RESOLVED, "", T + 12 * S, 1, 1)
    assert r[kc.LONG_OPEN] == kc.Contribution(kc.LONG_OPEN, "", T + 3 * S, 1, 1)
    assert r[kc.LONG_OPEN_CLOSED] == kc.Contribution(kc.LONG_OPEN_CLOSED, "", T + 12 * S, 1, 1)
    withdrawn = rows(request("question", status="withdrawn", closed_at=T + 12 * S))
    assert kc.RESOLVED not in withdrawn


def test_a_request_withdrawn_before_it_was_long_open_is_a_brief_row() -> None:
    r = rows(request("question", status="withdrawn", closed_at=T + S, outbound_before_answer=True))
    assert r[kc.LONG_OPEN_BRIEF] == kc.Contribution(
        kc.LONG_OPEN_BRIEF, "", T + S, 1, 1, until=T + 3 * S
    )
    assert kc.LONG_OPEN not in r


def test_events_count_only_what_their_kpi_counts() -> None:
    inbound = kc.timeline_contribution(
        kc.INBOUND_CONTACT, T, "phone", "inbound", "served", None, None
    )
    assert inbound == kc.Contribution(kc.FIRST_CONTACT, "", T, 1, 1)
    with_request = kc.timeline_contribution(
        kc.INBOUND_CONTACT, T, "counter", "inbound", "served", "req-1", None
    )
    assert with_request is not None and with_request.numerator == 0
    assert (
        kc.timeline_contribution(kc.INBOUND_CONTACT, T, "web", "inbound", "served", None, None)
        is None
    )
    assert kc.timeline_contribution(
        kc.FEEDBACK_GIVEN, T, None, None, None, "r", 4
    ) == kc.Contribution(kc.FEEDBACK, "", T, 4, 1)
    assert kc.signal_contribution("nl.contactmoment.deadline.warning.v1", T) is None
    note = kc.notification_contribution("repeat-contact", "staff", T)
    assert kc.split_notification_key(note.key) == ("repeat-contact", "staff")


def window_sums(
    contributions: list[kc.Contribution], start: datetime, end: datetime
) -> dict[tuple[str, str], tuple[int, int]]:
    """What the read model's window query adds up, over plain rows."""
    sums: dict[tuple[str, str], list[int]] = {}

    def add(metric: str, key: str, c: kc.Contribution, sign: int = 1) -> None:
        s = sums.setdefault((metric, key), [0, 0])
        s[0] += sign * c.numerator
        s[1] += sign * c.denominator

    for c in contributions:
        if c.metric == kc.LONG_OPEN and c.at < end:
            add(kc.LONG_OPEN, "", c)
        elif c.metric == kc.LONG_OPEN_CLOSED and c.at < start:
            add(kc.LONG_OPEN, "", c, -1)
        elif c.metric == kc.LONG_OPEN_BRIEF:
            if start <= c.at < end and c.until is not None and c.until < end:
                add(kc.LONG_OPEN, "", c)
        elif c.metric not in kc.REQUEST_METRICS[3:] and start <= c.at < end:
            add(c.metric, c.key, c)
    return {k: (v[0], v[1]) for k, v in sums.items()}


def random_request(rnd: random.Random) -> RequestFacts:
    opened = T + rnd.randrange(0, 60) * S
    kind = rnd.choice(("question", "callback", "complaint"))

    def at() -> datetime:
        return opened + rnd.randrange(0, 40) * S

    answered = at() if rnd.random() < 0.6 else None
    closed = None
    status = "open"
    if answered and rnd.random() < 0.6:
        closed, status = max(answered, at()), rnd.choice(("answered", "resolved"))
    elif not answered and rnd.random() < 0.4:
        closed, status = at(), "withdrawn"
    return request(
        kind,
        opened,
        status=status,
        answered_at=answered,
        closed_at=closed,
        acknowledged_at=at() if rnd.random() < 0.5 else None,
        due_at=opened + rnd.randrange(1, 30) * S,
        interim_update=rnd.random() < 0.3,
        outbound_before_answer=rnd.random() < 0.3,
    )


def test_summing_contributions_per_window_equals_the_tally_of_the_windows_requests() -> None:
    rnd = random.Random(11)
    for _ in range(200):
        requests = [random_request(rnd) for _ in range(rnd.randrange(1, 12))]
        start = T + rnd.randrange(-5, 90) * S
        end = start + rnd.randrange(1, 60) * S
        # The from-scratch fetch: requests opened before the end and not closed before the start.
        fetched = [
            r
            for r in requests
            if r.opened_at < end and (r.closed_at is None or r.closed_at >= start)
        ]
        want = count(KpiFacts(fetched, 0, 0, 0, 0, 0, 0, None), CATALOGUE, start, end)
        rows_ = [c for r in requests for c in kc.request_contributions(r, CATALOGUE)]
        got = window_sums(rows_, start, end)
        assert got.get((kc.ACKNOWLEDGED, ""), (0, 0)) == want.acknowledged
        assert got.get((kc.LONG_OPEN, ""), (0, 0)) == want.long_open
        assert got.get((kc.RESOLVED, ""), (0, 0)) == want.resolved
        answered = {k: v for (m, k), v in got.items() if m == kc.ANSWERED and v[1]}
        assert answered == want.answered
