"""A request's status in the read model does not depend on the order its events arrived.
The read model folds its history with `domain.clock.lifecycle.fold`, as the clock does."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.clock.lifecycle import Lifecycle, fold
from domain.clock.norms import load
from domain.clock.terms import Step

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
CATALOGUE = load(Path(__file__).parents[3] / "deploy" / "config" / "service-norms.toml")


def lifecycle(steps: list[Step]) -> Lifecycle:
    return fold(CATALOGUE.lookup("question"), CATALOGUE.calendar, steps)


def step(kind: str, minutes: int) -> Step:
    return Step(kind, T0 + timedelta(minutes=minutes), None)


def test_opened_answered_resolved() -> None:
    life = lifecycle([step("opened", 0), step("acknowledged", 5), step("answered", 10)])
    assert (life.status, life.acknowledged_at, life.answered_at, life.closed_at) == (
        "answered",
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=10),
        T0 + timedelta(minutes=10),
    )
    life = lifecycle([step("opened", 0), step("answered", 10), step("resolved", 20)])
    assert (life.status, life.answered_at, life.closed_at) == (
        "resolved",
        T0 + timedelta(minutes=10),
        T0 + timedelta(minutes=20),
    )


def test_reopened_clears_the_answer_and_suspension_is_undone_by_resume() -> None:
    life = lifecycle([step("opened", 0), step("answered", 1), step("reopened", 2)])
    assert (life.status, life.answered_at, life.closed_at) == ("open", None, None)
    life = lifecycle([step("opened", 0), step("suspended", 1), step("resumed", 2)])
    assert life.status == "open"
    assert lifecycle([step("opened", 0), step("suspended", 1)]).status == "suspended"


def test_impossible_steps_change_nothing() -> None:
    life = lifecycle([step("opened", 0), step("resumed", 1), step("reopened", 2)])
    assert (life.status, life.closed_at) == ("open", None)
    life = lifecycle([step("opened", 0), step("withdrawn", 1), step("answered", 2)])
    assert (life.status, life.answered_at) == ("withdrawn", None)


def test_acknowledgement_keeps_the_first_instant_and_changes_count() -> None:
    life = lifecycle([step("opened", 0), step("acknowledged", 2), step("acknowledged", 4)])
    assert life.acknowledged_at == T0 + timedelta(minutes=2)
    assert life.changed_at == T0 + timedelta(minutes=4)
    assert lifecycle([step("opened", 0), step("resumed", 1)]).changed_at is None
