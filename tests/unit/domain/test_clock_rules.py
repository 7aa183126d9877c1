"""What the clock emits (pure): each signal and notification once, with stable ids."""

from datetime import date, datetime, timedelta
from pathlib import Path

from domain.clock import requests
from domain.clock.calendar import AMSTERDAM
from domain.clock.norms import load
from domain.clock.state import DocumentClock, RequestClock
from domain.customer import rules as customer_rules
from schemas.envelope import new_event
from schemas.events import EventType, RequestAnswered, RequestOpened, RequestResolved

CATALOGUE = load(Path(__file__).parents[3] / "deploy" / "config" / "service-norms.toml")
CTX = requests.Context(CATALOGUE, preferred_channel="email")
KEY = "k-" + "a" * 32
OPENED = datetime(2026, 11, 30, 9, tzinfo=AMSTERDAM)  # Monday 09:00: due Wednesday 09:00


def callback() -> RequestClock:
    return requests.opened(opening())


def opening():  # type: ignore[no-untyped-def]
    """Callback request r1, opened Monday 09:00."""
    return new_event(
        EventType.REQUEST_OPENED,
        source="urn:contactmoment:test",
        source_id="1",
        subject=KEY,
        time=OPENED,
        data=RequestOpened(
            request_id="r1",
            request_type="callback",
            subject="Wmo",
            channel="phone",
            department="KCC",
        ),
    )


def answer(at: datetime):  # type: ignore[no-untyped-def]
    """The answer to request r1, given at `at`."""
    return new_event(
        EventType.REQUEST_ANSWERED,
        source="urn:contactmoment:test",
        source_id="a",
        subject=KEY,
        time=at,
        data=RequestAnswered(request_id="r1"),
    )


def kinds(out) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        o.type.value.split(".")[-2]
        if o.type is not EventType.NOTIFICATION
        else f"{o.data.kind.value}/{o.data.audience.value}"
        for o in out
    ]


def test_sweep_emits_each_transition_once_in_order() -> None:
    state = callback()
    assert requests.next_instant(state, CATALOGUE) == datetime(
        2026, 12, 1, 13, 15, tzinfo=AMSTERDAM
    )
    state, out = requests.sweep(state, datetime(2026, 12, 1, 14, tzinfo=AMSTERDAM), CTX)
    assert kinds(out) == ["warning"]
    state, again = requests.sweep(state, datetime(2026, 12, 1, 14, 1, tzinfo=AMSTERDAM), CTX)
    assert again == []  # a repeated tick emits nothing
    breach_time = datetime(2026, 12, 2, 9, 0, 0, 300_000, tzinfo=AMSTERDAM)
    state, out = requests.sweep(state, breach_time, CTX)
    assert kinds(out) == ["breached", "callback-missed/customer", "callback-missed/staff"]
    breach = out[0].data
    assert (breach.detected_at - breach.due_at).total_seconds() == 0.3  # type: ignore[attr-defined]
    assert out[1].data.channel == "email"  # type: ignore[attr-defined]  # preferred channel
    state, out = requests.sweep(state, datetime(2026, 12, 3, 9, 1, tzinfo=AMSTERDAM), CTX)
    assert kinds(out) == ["escalated", "deadline-breached/regieteam"]


def test_ids_are_deterministic_so_a_crash_repeat_is_harmless() -> None:
    late = datetime(2026, 12, 2, 10, tzinfo=AMSTERDAM)
    _, first = requests.sweep(callback(), late, CTX)
    _, second = requests.sweep(callback(), late + timedelta(seconds=5), CTX)
    assert [e.id for e in first] == [e.id for e in second]


def test_answer_after_breach_is_met_late_and_resolve_asks_feedback() -> None:
    state, _ = requests.sweep(callback(), datetime(2026, 12, 2, 10, tzinfo=AMSTERDAM), CTX)
    answered = answer(at=datetime(2026, 12, 2, 11, tzinfo=AMSTERDAM))
    state, out = requests.on_event(state, answered, CTX)
    assert kinds(out) == ["met-late"]
    assert requests.next_instant(state, CATALOGUE) is None  # closed: nothing pending
    resolved = new_event(
        EventType.REQUEST_RESOLVED,
        source="urn:contactmoment:test",
        source_id="r",
        subject=KEY,
        time=datetime(2026, 12, 3, 11, tzinfo=AMSTERDAM),
        data=RequestResolved(request_id="r1"),
    )
    state, out = requests.on_event(state, resolved, CTX)
    assert kinds(out) == ["feedback-request/customer"]
    _, out = requests.on_event(state, resolved, CTX)
    assert out == []


def test_answered_in_time_never_breaches() -> None:
    answered = answer(at=OPENED + timedelta(hours=3))
    state, out = requests.on_event(callback(), answered, CTX)
    assert out == []
    _, out = requests.sweep(state, OPENED + timedelta(days=10), CTX)
    assert out == []


def test_an_answer_after_the_due_instant_that_no_tick_saw_still_breaches_first() -> None:
    """The worker was down at the due instant: processing the late answer afterwards
    emits the breach (stamped when detected) and then met-late, each once."""
    due = datetime(2026, 12, 2, 9, tzinfo=AMSTERDAM)
    answered = answer(at=due + timedelta(minutes=20))
    detected = due + timedelta(hours=1)
    state, out = requests.on_event(callback(), answered, CTX, now=detected)
    assert kinds(out) == ["breached", "met-late"]
    breach = out[0].data
    assert breach.due_at == due and breach.detected_at == detected  # type: ignore[attr-defined]
    _, again = requests.on_event(state, answered, CTX, now=detected)
    assert "breached" not in kinds(again)
    _, later = requests.sweep(state, detected + timedelta(days=3), CTX)
    assert later == []  # no second breach, and no warning or escalation after the answer


def test_the_caught_up_breach_has_the_id_a_tick_would_have_given() -> None:
    due = datetime(2026, 12, 2, 9, tzinfo=AMSTERDAM)
    _, ticked = requests.sweep(callback(), due + timedelta(seconds=1), CTX)
    answered = answer(at=due + timedelta(minutes=1))
    _, caught_up = requests.on_event(callback(), answered, CTX, now=due + timedelta(hours=1))
    breach = next(e for e in ticked if e.type is EventType.DEADLINE_BREACHED)
    assert caught_up[0].type is EventType.DEADLINE_BREACHED
    assert breach.id == caught_up[0].id  # a crash between the two can never double it


def test_repeat_contact_needs_three_within_14_days_and_fires_once() -> None:
    state: dict = {}  # type: ignore[type-arg]
    out_all = []
    for days in (0, 5, 13):
        state, out = customer_rules.repeat_contact(
            state, KEY, "Parkeervergunning", OPENED + timedelta(days=days)
        )
        out_all += out
    assert kinds(out_all) == ["repeat-contact/staff"]
    state, out = customer_rules.repeat_contact(
        state, KEY, "parkeervergunning", OPENED + timedelta(days=14)
    )
    assert out == []  # already told staff in this window
    spread: dict = {}  # type: ignore[type-arg]
    for days in (0, 10, 20):
        spread, out = customer_rules.repeat_contact(
            spread, KEY, "afval", OPENED + timedelta(days=days)
        )
        assert out == []


def test_document_expiring_six_weeks_before() -> None:
    doc = DocumentClock(KEY, "passport", date(2027, 3, 1), born=4)
    notice = customer_rules.document_notice_at(date(2027, 3, 1))
    assert notice.date() == date(2027, 1, 18)
    _, early = customer_rules.document_expiring(doc, notice - timedelta(days=1), "web")
    assert early == []
    doc, out = customer_rules.document_expiring(doc, notice, "web")
    assert kinds(out) == ["document-expiring/customer"]
    assert "paspoort" in out[0].data.message and out[0].data.channel == "web"  # type: ignore[attr-defined]
    _, again = customer_rules.document_expiring(doc, notice + timedelta(days=1), "web")
    assert again == []


def early_answer_then_opening(answered_after: timedelta):  # type: ignore[no-untyped-def]
    waiting = requests.early(None, answer(at=OPENED + answered_after))
    assert requests.is_early(waiting)
    return requests.opened_with(opening(), waiting, CTX, OPENED + timedelta(days=5))


def test_an_answer_that_arrives_before_its_opening_closes_the_request_when_it_comes() -> None:
    """Retried ingest calls can reach Kafka out of order: the reply before the question."""
    state, out = early_answer_then_opening(timedelta(minutes=5))
    assert out == [] and not requests.is_early(state)
    assert requests.next_instant(state, CATALOGUE) is None  # answered: nothing pending
    _, out = requests.sweep(state, OPENED + timedelta(days=10), CTX)
    assert out == []


def test_an_early_answer_given_after_the_due_instant_is_still_a_breach() -> None:
    """Due Wednesday 09:00 (two workdays); answered Thursday, and that answer reached the
    worker before the opening did: breach and met-late when the opening comes."""
    state, out = early_answer_then_opening(timedelta(days=3))
    assert kinds(out) == ["breached", "met-late"]
    _, later = requests.sweep(state, OPENED + timedelta(days=10), CTX)
    assert later == []
