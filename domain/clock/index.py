"""The deadline index: clock keys bucketed by the second of their next transition.

Keys are "<partition>|<epoch second>", so a sweep of one partition reads only the buckets
between its cursor and now: the cost grows with what is due, not with what is open. Works
on any mapping with the operations of `Table`: the worker step's overlays of its faust
tables, dicts in tests and benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

MAX_CATCH_UP = 7 * 24 * 3600  # after a long outage, sweep at most a week of seconds


class Table(Protocol):
    """The mapping operations the index uses (a dict, a faust table, a step's overlay)."""

    def get(self, key: Any, default: Any = None, /) -> Any: ...
    def __setitem__(self, key: Any, value: Any, /) -> None: ...
    def __delitem__(self, key: Any, /) -> None: ...
    def __contains__(self, key: object, /) -> bool: ...
    def pop(self, key: Any, default: Any, /) -> Any: ...


class DeadlineIndex:
    def __init__(self, buckets: Table, cursors: Table, encode: bool = True) -> None:
        self.buckets, self.cursors = buckets, cursors
        self.encode = encode  # faust tables here have bytes keys; dicts may use str keys
        # partition → the `now` second of the sweep in progress (memory only: a sweep cut
        # short by a crash starts again from the stored cursor).
        self.sweeping: dict[int, int] = {}

    def _key(self, text: str) -> Any:
        return text.encode() if self.encode else text

    def move(self, partition: int, key: str, old: int | None, new: datetime | None) -> int | None:
        """Re-file `key` from bucket `old` to the second of `new`; returns the new bucket.

        A second the sweep has already passed is never visited again, so a transition that
        is already due (an event processed late: after a takeover, or behind a backlog
        while ticks ran on) goes to the next second the sweep will visit instead; and a
        partition never swept yet starts its first sweep at the first second filed."""
        second = math.floor(new.timestamp()) if new else None
        cursor = self.cursors.get(self._key(str(partition)))
        sweeping = self.sweeping.get(partition)
        if second is not None and sweeping is not None and second < sweeping:
            # Re-filed while a sweep runs (the next reminder of a request that was behind):
            # this sweep may have passed that second already; the next one visits `sweeping`.
            second = sweeping
        elif second is not None and cursor is None:
            # Never swept yet: remember the earliest second filed, the first sweep starts there.
            fkey = self._key(f"{partition}|floor")
            floor = self.cursors.get(fkey)
            self.cursors[fkey] = second - 1 if floor is None else min(floor, second - 1)
        elif second is not None and cursor is not None and second <= cursor:
            second = cursor + 1
        if old == second:
            return second
        if old is not None:
            slot = self._key(f"{partition}|{old}")
            remaining = [k for k in self.buckets.get(slot, []) if k != key]
            if remaining:
                self.buckets[slot] = remaining
            elif slot in self.buckets:
                del self.buckets[slot]
        if second is not None:
            slot = self._key(f"{partition}|{second}")
            self.buckets[slot] = [*self.buckets.get(slot, []), key]
        return second

    def due(self, partition: int, now: float) -> Iterator[str]:
        """Keys whose bucket lies between the cursor and now (the current second included:
        it is visited again next time, so nothing due later in this second is missed)."""
        until = math.floor(now)
        ckey = self._key(str(partition))
        start = self.cursors.get(ckey)
        if start is None:
            start = self.cursors.pop(self._key(f"{partition}|floor"), until - 1)
        start = max(start, until - MAX_CATCH_UP)
        self.sweeping[partition] = until
        try:
            for second in range(start + 1, until + 1):
                yield from list(self.buckets.get(self._key(f"{partition}|{second}"), []))
        finally:
            del self.sweeping[partition]
        self.cursors[ckey] = until - 1
