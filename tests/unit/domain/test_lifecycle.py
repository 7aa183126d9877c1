"""The one lifecycle fold: the rules where the clock and the read model used to differ,
order independence, and status and times that agree with the clock's instants."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from domain.clock import requests
from domain.clock.lifecycle import CLOSED, ORDER, fold
from domain.clock.norms import load
from domain.clock.state import RequestClock
from domain.clock.terms import Step

CATALOGUE = load(Path(__file__).parents[3] / "deploy" / "config" / "service-norms.toml")
CAL = CATALOGUE.calendar
CALLBACK = CATALOGUE.lookup("callback")
T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def steps(*kinds_hours: tuple[str, float]) -> list[Step]:
    return [Step(k, at(h), "P2D" if k == "extended" else None) for k, h in kinds_hours]


def life(*kinds_hours: tuple[str, float]):  # type: ignore[no-untyped-def]
    return fold(CALLBACK, CAL, steps(*kinds_hours))


def clock_of(history: list[Step]) -> RequestClock:
    return RequestClock("r1", "k-" + "a" * 32, "callback", "Wmo", "phone", "KCC", tuple(history))


def test_reopening_an_open_request_changes_nothing_and_starts_no_new_term() -> None:
    plain = life(("opened", 0))
    reopened = life(("opened", 0), ("reopened", 5))
    assert reopened == plain
    state = clock_of(steps(("opened", 0), ("reopened", 5)))
    assert requests.term_start(requests.current(state, CATALOGUE)) == T0.isoformat()
    # a suspended request is not closed either
    assert life(("opened", 0), ("suspended", 1), ("reopened", 2)).status == "suspended"


def test_reopening_a_closed_request_starts_a_new_term_and_new_emission_keys() -> None:
    state = clock_of(steps(("opened", 0), ("answered", 1), ("reopened", 30)))
    now = requests.current(state, CATALOGUE)
    assert now.status == "open" and now.answered_at is None and now.closed_at is None
    assert requests.term_start(now) == at(30).isoformat()
    assert now.due_at == life(("opened", 30)).due_at


def test_resolved_after_answered_keeps_the_answer_and_the_due_instant_of_the_answer() -> None:
    answered = life(("opened", 0), ("answered", 1))
    resolved = life(("opened", 0), ("answered", 1), ("resolved", 50))
    assert (resolved.status, resolved.answered_at, resolved.closed_at) == (
        "resolved",
        at(1),
        at(50),
    )
    assert resolved.due_at == answered.due_at == life(("opened", 0)).due_at
    assert not resolved.running and resolved.escalate_at is None


def test_a_closed_request_is_not_closed_again() -> None:
    withdrawn = life(("opened", 0), ("withdrawn", 1), ("answered", 2), ("resolved", 3))
    assert (withdrawn.status, withdrawn.answered_at, withdrawn.closed_at) == (
        "withdrawn",
        None,
        at(1),
    )


def test_a_repeated_suspension_does_not_freeze_the_clock_again() -> None:
    once = life(("opened", 0), ("suspended", 1), ("resumed", 30))
    twice = life(("opened", 0), ("suspended", 1), ("suspended", 20), ("resumed", 30))
    assert twice.due_at == once.due_at and twice.changed_at == once.changed_at
    assert life(("opened", 0), ("resumed", 1)) == life(("opened", 0))


def test_a_request_closed_while_suspended_has_no_due_instant() -> None:
    assert life(("opened", 0), ("suspended", 1), ("answered", 2)).due_at is None


def test_a_step_timed_before_the_opening_counts_as_right_after_it() -> None:
    early = life(("answered", -1), ("opened", 0))
    assert early.status == "answered" and early.answered_at == at(-1)
    assert early.due_at == life(("opened", 0)).due_at
    state = clock_of(steps(("opened", 0), ("answered", -1)))
    assert requests.next_instant(state, CATALOGUE) is None  # the clock did not crash


def test_without_an_opening_the_clock_never_starts() -> None:
    none = life(("answered", 1))
    assert none.status == "answered" and none.due_at is None and none.opened_at is None


kinds = st.sampled_from([k for k in ORDER if k != "opened"])
histories = st.lists(
    st.tuples(kinds, st.integers(min_value=0, max_value=24 * 14)), min_size=0, max_size=10
)


@given(histories, st.randoms())
def test_the_fold_does_not_depend_on_arrival_order(history, rng) -> None:  # type: ignore[no-untyped-def]
    ordered = steps(("opened", 0), *history)
    shuffled = list(ordered)
    rng.shuffle(shuffled)
    assert fold(CALLBACK, CAL, shuffled) == fold(CALLBACK, CAL, ordered)


@given(histories)
def test_status_and_times_agree_with_the_clock(history) -> None:  # type: ignore[no-untyped-def]
    history_steps = steps(("opened", 0), *history)
    now = fold(CALLBACK, CAL, history_steps)
    state = clock_of(history_steps)
    pending = requests.next_instant(state, CATALOGUE)
    if now.status == "open":
        assert now.due_at is not None and now.warn_at is not None and now.escalate_at
        assert now.warn_at <= now.due_at < now.escalate_at
        assert pending is not None and pending <= now.due_at
        assert now.closed_at is None and now.answered_at is None
    else:
        assert pending is None and now.warn_at is None and now.escalate_at is None
    if now.status == "suspended":
        assert now.due_at is None and now.closed_at is None
    if now.status in CLOSED:
        assert now.closed_at is not None
        assert now.status != "answered" or now.answered_at == now.closed_at
        # The due instant is kept from when the clock stopped: later steps (but a reopening)
        # change nothing of it.
        later = [Step(k, at(24 * 15 + i), "P2D") for i, k in enumerate(ORDER) if k != "reopened"]
        after = fold(CALLBACK, CAL, [*history_steps, *later])
        assert after.due_at == now.due_at and after.status in CLOSED
    assert now.term_start is not None and now.term_start >= T0
