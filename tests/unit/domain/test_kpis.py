"""The KPI tally over plain facts, without a database (definitions: docs/kpis.md)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.clock.norms import load
from domain.kpis import KpiFacts, RequestFacts, tally

# Calendar-time norms (callback 4 s, question 30 s with interim every 3 s, complaint 6 s
# with an acknowledgement within 3 s): the arithmetic below is plain seconds.
CATALOGUE = load(Path(__file__).parents[2] / "e2e" / "fast-norms.toml")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
S = timedelta(seconds=1)


def request(kind: str, opened: datetime, **given: object) -> RequestFacts:
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


def no_contacts(requests: list[RequestFacts]) -> KpiFacts:
    return KpiFacts(
        requests=requests,
        escalations=0,
        inbound_phone_counter_contacts=0,
        resolved_at_first_contact=0,
        inbound_customers=0,
        repeat_contact_customers=0,
        feedback_count=0,
        feedback_mean=None,
    )


def test_each_kpi_counts_its_own_requests_and_events() -> None:
    opened = START + 60 * S
    requests = [
        # complaint acknowledged in 2 s (norm 3 s), answered in time, resolved
        request(
            "complaint",
            opened,
            acknowledged_at=opened + 2 * S,
            answered_at=opened + 5 * S,
            closed_at=opened + 10 * S,
            due_at=opened + 6 * S,
            status="resolved",
        ),
        # complaint acknowledged too late, still open
        request("complaint", opened, acknowledged_at=opened + 5 * S, due_at=opened + 6 * S),
        # complaint opened before the window: not in the acknowledgement share
        request("complaint", START - 600 * S, acknowledged_at=START - 500 * S),
        # question answered late, no interim update while long open, closed as answered
        request(
            "question",
            START,
            answered_at=START + 40 * S,
            closed_at=START + 40 * S,
            due_at=START + 30 * S,
            status="answered",
        ),
        # question long open with an interim update
        request("question", START + 10 * S, interim_update=True, due_at=START + 40 * S),
        # callback answered within its 4 s
        request(
            "callback",
            START,
            answered_at=START + 3 * S,
            closed_at=START + 3 * S,
            due_at=START + 4 * S,
            status="answered",
        ),
    ]
    facts = dataclasses.replace(
        no_contacts(requests),
        escalations=3,
        inbound_phone_counter_contacts=5,
        resolved_at_first_contact=2,
        inbound_customers=4,
        repeat_contact_customers=1,
        feedback_count=3,
        feedback_mean=11 / 3,
        notifications=[("callback-missed", "customer", 1)],
    )
    kpis = tally(facts, CATALOGUE, START, END)

    def share(n: int, d: int) -> dict[str, object]:
        return {"numerator": n, "denominator": d, "value": round(n / d, 4)}

    assert kpis == {
        "from": START.isoformat(),
        "to": END.isoformat(),
        "duidelijk": {
            "acknowledged_within_norm": share(1, 2),
            # unanswered past `interim_every`: the late question (no update), the one with
            # an update, and the complaint opened before the window (hourly, no update)
            "long_open_with_interim_update": share(1, 3),
        },
        "betrouwbaar": {
            "answered_within_norm": {
                "callback": share(1, 1),
                "complaint": share(1, 1),
                "question": share(0, 1),
            }
        },
        # closed as resolved (the complaint) or answered (the question, the callback)
        "klant_geholpen": {"resolved_of_answered": share(1, 3), "escalations": 3},
        "persoonlijk": {
            "first_contact_resolution": share(2, 5),
            "repeat_contact_rate": share(1, 4),
            "callbacks_on_time": share(1, 1),
        },
        "leren": {"feedback_count": 3, "feedback_mean_score": 3.67},
        "anticiperen": {
            "notifications": [{"kind": "callback-missed", "audience": "customer", "count": 1}]
        },
    }


def test_the_window_includes_its_start_and_excludes_its_end() -> None:
    at_start = request(
        "callback", START - 2 * S, answered_at=START, closed_at=START, due_at=START + 2 * S
    )
    at_end = request("callback", END - 2 * S, answered_at=END, closed_at=END, due_at=END + 2 * S)
    kpis = tally(no_contacts([at_start, at_end]), CATALOGUE, START, END)
    assert kpis["persoonlijk"]["callbacks_on_time"]["denominator"] == 1
    assert kpis["betrouwbaar"]["answered_within_norm"]["callback"]["denominator"] == 1


def test_nothing_measured_is_null_not_zero() -> None:
    kpis = tally(no_contacts([]), CATALOGUE, START, END)
    assert kpis["duidelijk"]["acknowledged_within_norm"] == {
        "numerator": 0,
        "denominator": 0,
        "value": None,
    }
    assert kpis["persoonlijk"]["first_contact_resolution"]["value"] is None
    assert kpis["betrouwbaar"]["answered_within_norm"] == {}
    assert kpis["leren"]["feedback_mean_score"] is None
