"""The deadline index: what a sweep of one partition yields, and when."""

from datetime import UTC, datetime

from domain.clock.index import DeadlineIndex

T0 = 1_800_000_000  # an epoch second


def at(second: float) -> datetime:
    return datetime.fromtimestamp(second, UTC)


def fresh() -> DeadlineIndex:
    return DeadlineIndex({}, {}, encode=False)


def test_a_key_is_yielded_once_its_second_has_come() -> None:
    index = fresh()
    assert list(index.due(0, T0)) == []  # first sweep sets the cursor
    index.move(0, "req-1", None, at(T0 + 5.4))
    assert list(index.due(0, T0 + 4.9)) == []
    assert list(index.due(0, T0 + 5.1)) == ["req-1"]


def test_partitions_do_not_see_each_others_keys() -> None:
    index = fresh()
    index.due(0, T0)
    index.move(1, "req-1", None, at(T0 + 1))
    assert list(index.due(0, T0 + 10)) == []
    assert list(index.due(1, T0 + 10)) == ["req-1"]


def test_moving_a_key_takes_it_out_of_its_old_bucket() -> None:
    index = fresh()
    list(index.due(0, T0))
    old = index.move(0, "req-1", None, at(T0 + 2))
    index.move(0, "req-1", old, at(T0 + 8))
    assert list(index.due(0, T0 + 5)) == []
    assert list(index.due(0, T0 + 9)) == ["req-1"]
    assert index.move(0, "req-1", T0 + 8, None) is None
    assert index.buckets == {}


def test_a_transition_filed_behind_the_sweep_is_still_yielded() -> None:
    """A worker that takes over a partition sweeps up to now at its first tick, then works
    through the events it inherited: a request opened there can already be past its next
    transition. It must come up at the next sweep, not be filed where no sweep returns."""
    index = fresh()
    list(index.due(0, T0 + 60))  # the cursor is at T0 + 59
    bucket = index.move(0, "late", None, at(T0 + 10))
    assert bucket == T0 + 60
    assert list(index.due(0, T0 + 60.5)) == ["late"]


def test_the_current_second_is_visited_again() -> None:
    index = fresh()
    list(index.due(0, T0 + 0.2))
    index.move(0, "req-1", None, at(T0 + 0.8))  # same second as the last sweep
    assert list(index.due(0, T0 + 0.9)) == ["req-1"]


def test_the_first_sweep_of_a_partition_starts_at_the_earliest_second_filed() -> None:
    """A new worker can process a backlog before its first tick: what fell due in the
    meantime is swept then, and a later key never pushes an earlier one back."""
    index = fresh()
    index.move(0, "later", None, at(T0 + 30))
    index.move(0, "sooner", None, at(T0 + 3))
    assert sorted(index.due(0, T0 + 10)) == ["sooner"]
    assert list(index.due(0, T0 + 31)) == ["later"]


def test_a_key_refiled_during_a_sweep_into_a_second_it_passed_comes_up_next_sweep() -> None:
    """A long sweep (after a takeover) fires a question's interim reminder; its next one is
    also already past. Filed there, it would sit behind the cursor for good."""
    index = fresh()
    list(index.due(0, T0))
    bucket = index.move(0, "question", None, at(T0 + 3))
    for key in index.due(0, T0 + 20):  # one sweep over 20 seconds
        assert key == "question"
        bucket = index.move(0, key, bucket, at(T0 + 6))  # next reminder: passed already
    assert bucket == T0 + 20
    assert list(index.due(0, T0 + 20.3)) == ["question"]
