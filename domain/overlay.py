"""A table as one worker step sees it: reads go through to the table, writes are kept, read
back, and listed in order, so a pure step can return them for the adapter to apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Readable(Protocol):
    """What a step reads of a table: a faust table view, a dict in tests."""

    def get(self, key: str, default: Any = None, /) -> Any: ...


@dataclass(frozen=True)
class Put:
    key: str
    value: Any  # the JSON value


@dataclass(frozen=True)
class Delete:
    key: str


Write = Put | Delete
_GONE = object()


class Overlay:
    """`base` with this step's writes on top (the mapping operations `DeadlineIndex` and
    the step use)."""

    def __init__(self, base: Readable, skip_unchanged: bool = False) -> None:
        self.base = base
        # Drop a put of the value the key already has (for state whose changelog record may
        # be missing after a crash without harm, such as the sweep cursor: a cursor left
        # behind only makes the next sweep visit seconds again).
        self.skip_unchanged = skip_unchanged
        self._changed: dict[str, Any] = {}
        self.writes: list[Write] = []

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._changed:
            value = self._changed[key]
            return default if value is _GONE else value
        return self.base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _GONE) is not _GONE

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _GONE)
        if value is _GONE:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if self.skip_unchanged and self.get(key, _GONE) == value:
            return
        self._changed[key] = value
        self.writes.append(Put(key, value))

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._changed[key] = _GONE
        self.writes.append(Delete(key))

    def pop(self, key: str, default: Any = None) -> Any:
        value = self.get(key, _GONE)
        if value is _GONE:
            return default
        del self[key]
        return value
