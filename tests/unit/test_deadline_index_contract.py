"""One contract for the deadline index, run on every mapping it is used with.

`DeadlineIndex` keeps its buckets and cursors in any mutable mapping: plain dicts in tests
and benchmarks, faust tables in the worker. The same cases run against

- a dict (str keys, as tests and benchmarks use it),
- a faust Table on the memory store, and
- a faust Table on the RocksDB store (rocksdict), the worker's store in production,

both tables made as `streams/app.py` makes them (bytes keys, JSON values, no default).

A faust table may only be written inside stream iteration, so the faust variants drive the
index through a real agent's `test_context()`: every operation is one event, on the event
partition the worker would use (the tick or event of that index partition). No broker is
needed: table writes put their changelog records in the producer's buffer, and no producer
runs here to send them (restoring from a changelog is the worker tests' concern).
The RocksDB variant is the one that catches what a dict hides: a value read from the table
is a fresh copy decoded from JSON (a list changed in place is not stored); and a read sees
only the store of the event's partition, which is why each operation runs on its own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import faust
import pytest

from domain.clock.index import DeadlineIndex

T = TypeVar("T")
T0 = 1_800_000_000  # an epoch second
PARTITIONS = 2

# (index partition, operation on the index) → what the operation returned
Drive = Callable[[int, Callable[[DeadlineIndex], Any]], Awaitable[Any]]
_apps = itertools.count()


def at(second: float) -> datetime:
    return datetime.fromtimestamp(second, UTC)


def stored(index: DeadlineIndex, text: str) -> Any:
    """The raw value under one bucket or cursor key, or None (read as the index reads it)."""
    key = text.encode() if index.encode else text
    for mapping in (index.buckets, index.cursors):
        if key in mapping:
            return mapping[key]
    return None


def sweep(partition: int, now: float) -> Callable[[DeadlineIndex], list[str]]:
    return lambda index: list(index.due(partition, now))


def file(
    partition: int, key: str, old: int | None, new: datetime | None
) -> Callable[[DeadlineIndex], int | None]:
    return lambda index: index.move(partition, key, old, new)


@pytest.fixture(params=["dict", "faust-memory", "faust-rocksdb"])
async def drive(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Drive]:
    if request.param == "dict":
        index = DeadlineIndex({}, {}, encode=False)

        async def run_on_dict(partition: int, op: Callable[[DeadlineIndex], T]) -> T:
            return op(index)

        yield run_on_dict
        return

    store = "memory://" if request.param == "faust-memory" else "rocksdb://"
    app = faust.App(
        f"index-contract-{next(_apps)}",
        broker="kafka://127.0.0.1:1",  # never contacted: test_context() starts no consumer
        store=store,
        datadir=str(tmp_path),
        web_enabled=False,
    )
    # As streams/app.py makes its tables: bytes keys (raw), JSON values, no default.
    buckets = app.Table("deadline-index", partitions=PARTITIONS, key_type=bytes)
    cursors = app.Table("deadline-cursor", partitions=PARTITIONS, key_type=bytes)
    index = DeadlineIndex(buckets, cursors)
    operations = app.channel()

    @app.agent(operations)
    async def apply(stream: Any) -> AsyncIterator[tuple[bool, Any]]:
        async for op in stream:
            try:
                yield True, op(index)
            except Exception as exc:  # handed to the test, so the agent lives on
                yield False, exc

    # Without a running worker: bind the app to this loop, finalize it, let the stream flow
    # (or `put()` waits forever).
    app.loop = asyncio.get_running_loop()
    app.finalize()
    app.flow_control.resume()

    try:
        async with apply.test_context() as agent:

            async def run_in_agent(partition: int, op: Callable[[DeadlineIndex], T]) -> T:
                offset = agent.sent_offset
                await agent.put(op, partition=partition)
                ok, value = agent.results[offset]
                if not ok:
                    raise value
                return value  # type: ignore[no-any-return]

            yield run_in_agent
    finally:
        # Stream iteration made the app's Kafka consumer, whose thread (never started: no
        # worker runs) has an event loop of its own, which only a stopped thread closes.
        app.consumer._thread.thread_loop.close()  # type: ignore[attr-defined]


async def test_a_key_is_due_once_its_second_has_come(drive: Drive) -> None:
    assert await drive(0, sweep(0, T0)) == []  # the first sweep sets the cursor
    assert await drive(0, file(0, "req-1", None, at(T0 + 5.4))) == T0 + 5
    assert await drive(0, sweep(0, T0 + 4.9)) == []
    assert await drive(0, sweep(0, T0 + 5.1)) == ["req-1"]


async def test_due_yields_the_keys_from_the_cursor_to_now_and_nothing_later(
    drive: Drive,
) -> None:
    await drive(0, sweep(0, T0))
    for name, second in (("a", T0 + 1), ("b", T0 + 3), ("c", T0 + 3), ("d", T0 + 7)):
        await drive(0, file(0, name, None, at(second)))
    assert await drive(0, sweep(0, T0 + 3.5)) == ["a", "b", "c"]
    # The cursor is at T0 + 2 now: T0 + 3 is visited again (its keys stay until moved).
    assert await drive(0, sweep(0, T0 + 6.9)) == ["b", "c"]
    assert await drive(0, sweep(0, T0 + 7)) == ["d"]


async def test_the_cursor_advances_to_the_second_before_now(drive: Drive) -> None:
    """The current second is visited again by the next sweep: a key filed later in that
    second still comes up; the seconds before it are never visited again."""
    await drive(0, sweep(0, T0 + 0.2))
    assert await drive(0, lambda index: stored(index, "0")) == T0 - 1
    await drive(0, file(0, "same-second", None, at(T0 + 0.8)))
    assert await drive(0, sweep(0, T0 + 0.9)) == ["same-second"]
    await drive(0, sweep(0, T0 + 10.5))
    assert await drive(0, lambda index: stored(index, "0")) == T0 + 9


async def test_moving_a_key_refiles_it_and_empties_its_old_bucket(drive: Drive) -> None:
    await drive(0, sweep(0, T0))
    old = await drive(0, file(0, "req-1", None, at(T0 + 2)))
    await drive(0, file(0, "req-2", None, at(T0 + 2)))
    assert await drive(0, file(0, "req-1", old, at(T0 + 8))) == T0 + 8
    assert await drive(0, lambda index: stored(index, f"0|{T0 + 2}")) == ["req-2"]
    assert await drive(0, sweep(0, T0 + 5)) == ["req-2"]
    assert await drive(0, sweep(0, T0 + 9)) == ["req-1"]


async def test_filing_a_key_in_its_own_bucket_again_changes_nothing(drive: Drive) -> None:
    await drive(0, sweep(0, T0))
    old = await drive(0, file(0, "req-1", None, at(T0 + 4)))
    assert await drive(0, file(0, "req-1", old, at(T0 + 4.7))) == old
    assert await drive(0, lambda index: stored(index, f"0|{old}")) == ["req-1"]


async def test_removing_a_key_deletes_an_emptied_bucket(drive: Drive) -> None:
    await drive(0, sweep(0, T0))
    old = await drive(0, file(0, "req-1", None, at(T0 + 8)))
    assert await drive(0, file(0, "req-1", old, None)) is None
    assert await drive(0, lambda index: stored(index, f"0|{old}")) is None
    assert await drive(0, sweep(0, T0 + 20)) == []


async def test_a_second_already_passed_goes_to_the_next_second_visited(drive: Drive) -> None:
    """A worker that takes over a partition sweeps up to now at its first tick, then works
    through the events it inherited: a transition already due must come up next sweep."""
    await drive(0, sweep(0, T0 + 60))  # the cursor is at T0 + 59
    assert await drive(0, file(0, "late", None, at(T0 + 10))) == T0 + 60
    assert await drive(0, sweep(0, T0 + 60.5)) == ["late"]


async def test_a_key_refiled_during_a_sweep_behind_it_comes_up_next_sweep(drive: Drive) -> None:
    """A long sweep fires a reminder whose next one is also past already: filed there, it
    would sit behind the cursor for good. (The sweep and the re-filing are one tick.)"""
    await drive(0, sweep(0, T0))
    bucket = await drive(0, file(0, "question", None, at(T0 + 3)))

    def sweep_and_refile(index: DeadlineIndex) -> tuple[list[str], int | None]:
        seen, new = [], bucket
        for key in index.due(0, T0 + 20):
            seen.append(key)
            new = index.move(0, key, new, at(T0 + 6))
        return seen, new

    # Re-filed at the second this sweep ends on, it comes up again when the sweep gets there,
    # and (the current second being visited again) at the next sweep.
    assert await drive(0, sweep_and_refile) == (["question", "question"], T0 + 20)
    assert await drive(0, sweep(0, T0 + 20.3)) == ["question"]


async def test_a_partition_never_swept_starts_at_the_earliest_second_filed(drive: Drive) -> None:
    """A new worker can process a backlog before its first tick: what fell due meanwhile is
    swept then, and a later key never pushes the floor back."""
    await drive(0, file(0, "middle", None, at(T0 + 10)))
    await drive(0, file(0, "sooner", None, at(T0 + 3)))
    await drive(0, file(0, "later", None, at(T0 + 30)))
    assert await drive(0, lambda index: stored(index, "0|floor")) == T0 + 2
    assert await drive(0, sweep(0, T0 + 12)) == ["sooner", "middle"]
    assert await drive(0, lambda index: stored(index, "0|floor")) is None  # used up
    assert await drive(0, sweep(0, T0 + 31)) == ["later"]


async def test_a_partition_never_swept_and_never_filed_starts_at_now(drive: Drive) -> None:
    assert await drive(1, sweep(1, T0 + 100)) == []
    assert await drive(1, lambda index: stored(index, "1")) == T0 + 99


async def test_partitions_keep_their_own_buckets_and_cursors(drive: Drive) -> None:
    await drive(0, sweep(0, T0))
    await drive(1, sweep(1, T0 + 50))
    assert await drive(1, file(1, "on-1", None, at(T0 + 10))) == T0 + 50  # behind 1's cursor
    assert await drive(0, file(0, "on-0", None, at(T0 + 10))) == T0 + 10
    assert await drive(0, sweep(0, T0 + 60)) == ["on-0"]
    assert await drive(1, sweep(1, T0 + 60)) == ["on-1"]
