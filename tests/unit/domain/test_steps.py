"""The steps a page offers per status (domain/clock/steps.py) agree with the lifecycle fold:
an offered step changes the request, a step that is not offered changes nothing."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.clock.due_words import due_in_words
from domain.clock.lifecycle import CLOSED, Lifecycle, fold
from domain.clock.norms import load
from domain.clock.steps import STAFF_STEPS, allowed_steps, allows
from domain.clock.terms import Step

CATALOGUE = load(Path(__file__).parents[3] / "deploy" / "config" / "service-norms.toml")
CAL = CATALOGUE.calendar
NORM = CATALOGUE.lookup("question")
T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)  # a Monday

# A history that leaves the request in each status.
TO = {
    "open": [("opened", 0)],
    "suspended": [("opened", 0), ("suspended", 1)],
    "answered": [("opened", 0), ("answered", 1)],
    "resolved": [("opened", 0), ("resolved", 1)],
    "withdrawn": [("opened", 0), ("withdrawn", 1)],
}


def fold_of(history: list[tuple[str, float]]) -> Lifecycle:
    return fold(
        NORM,
        CAL,
        [Step(k, T0 + timedelta(hours=h), "P7D" if k == "extended" else None) for k, h in history],
    )


def changed(status: str, step: str) -> bool:
    """Does taking `step` (and, for a suspended one, resuming after it) change anything?"""
    before, after = list(TO[status]), [*TO[status], (step, 2)]
    if status == "suspended" and step not in ("resumed", "answered", "resolved", "withdrawn"):
        before, after = [*before, ("resumed", 3)], [*after, ("resumed", 3)]  # pending shows
    a, b = fold_of(before), fold_of(after)
    if step == "interim-update":
        return a.interim_due_at != b.interim_due_at or a.status != b.status or status == "suspended"
    return a != b


@pytest.mark.parametrize("status", list(TO))
@pytest.mark.parametrize("step", STAFF_STEPS)
def test_a_step_is_offered_exactly_when_the_fold_takes_it(status: str, step: str) -> None:
    assert fold_of(TO[status]).status == status
    if step == "acknowledged" and status in CLOSED:
        # The fold records a late acknowledgement (a channel system may send one), but a
        # closed request's receipt is no longer something to confirm: not offered.
        assert changed(status, step) and not allows(status, step)
        return
    assert allows(status, step) == changed(status, step), (status, step)


def test_an_acknowledged_request_is_not_offered_a_second_acknowledgement() -> None:
    assert "acknowledged" in allowed_steps("open")
    assert "acknowledged" not in allowed_steps("open", acknowledged=True)
    assert allowed_steps("unknown") == []


@pytest.mark.parametrize(
    ("due", "now", "words"),
    [
        (T0 + timedelta(hours=3), T0, "nog 3 uur"),
        (T0 + timedelta(minutes=20), T0, "nog 20 minuten"),
        (T0 + timedelta(seconds=30), T0, "nog 1 minuut"),
        (T0 + timedelta(days=3), T0, "nog 3 werkdagen"),
        (T0 + timedelta(days=7), T0, "nog 5 werkdagen"),  # a weekend is not counted
        (T0, T0 + timedelta(days=2), "2 werkdagen te laat"),
        (T0, T0 + timedelta(hours=5), "5 uur te laat"),
        (T0, T0 + timedelta(days=1), "1 werkdag te laat"),
    ],
)
def test_due_instants_in_words(due: datetime, now: datetime, words: str) -> None:
    assert due_in_words(due, now, CAL) == words
