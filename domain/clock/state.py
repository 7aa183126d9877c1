"""The worker's clock state, typed. Each value of the request-clock table is one of:

- `RequestClock`: an opened request (its steps, the keys of what it emitted);
- `EarlySteps`: steps of a request whose opening has not arrived yet;
- `DocumentClock` (key "doc:<event id>"): an issued document, told when it nearly expires.

`from_json` / `to_json` read and write the table's JSON shape unchanged, so changelogs and
stores written before these types existed still load (tests/unit/domain/fixtures holds
states as that code wrote them). Steps are parsed once, on load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.clock.terms import Step


def _steps(raw: list[list[Any]]) -> tuple[Step, ...]:
    return tuple(Step(kind, datetime.fromisoformat(at), ext) for kind, at, ext in raw)


def _raw(steps: tuple[Step, ...]) -> list[list[Any]]:
    return [[s.kind, s.at.isoformat(), s.extension] for s in steps]


@dataclass(frozen=True)
class RequestClock:
    """An opened request's clock."""

    request_id: str
    customer: str  # the customer key the request belongs to
    type: str  # the request type, as the norms name it
    subject: str
    channel: str
    department: str | None
    steps: tuple[Step, ...]  # in the order they were taken in
    emitted: tuple[str, ...] = ()  # keys of the signals and notices already emitted
    born: int | None = None  # offset of the customer's partition the clock began at
    indexed: int | None = None  # the deadline-index second it is filed under

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RequestClock:
        return cls(
            request_id=raw["request_id"],
            customer=raw["customer"],
            type=raw["type"],
            subject=raw["subject"],
            channel=raw["channel"],
            department=raw["department"],
            steps=_steps(raw["steps"]),
            emitted=tuple(raw["emitted"]),
            born=raw.get("born"),
            indexed=raw.get("indexed"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_id": self.request_id,
            "customer": self.customer,
            "type": self.type,
            "subject": self.subject,
            "channel": self.channel,
            "department": self.department,
            "steps": _raw(self.steps),
            "emitted": list(self.emitted),
        }
        if self.born is not None:
            out["born"] = self.born
        out["indexed"] = self.indexed
        return out


@dataclass(frozen=True)
class EarlySteps:
    """Steps of a request whose opening has not arrived yet (not indexed: no clock yet)."""

    request_id: str
    steps: tuple[Step, ...]  # in arrival order
    born: int | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> EarlySteps:
        return cls(raw["request_id"], _steps(raw["early"]), raw.get("born"))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"request_id": self.request_id, "early": _raw(self.steps)}
        if self.born is not None:
            out["born"] = self.born
        return out


@dataclass(frozen=True)
class DocumentClock:
    """An issued document: the customer is told once, six weeks before it expires."""

    customer: str
    kind: str  # passport, id-card, driving-licence
    valid_until: date
    born: int | None = None
    emitted: bool = False  # the notice went out
    indexed: int | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DocumentClock:
        return cls(
            customer=raw["customer"],
            kind=raw["kind"],
            valid_until=date.fromisoformat(raw["valid_until"]),
            born=raw.get("born"),
            emitted=bool(raw.get("emitted", False)),
            indexed=raw.get("indexed"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"doc": True}
        if self.born is not None:
            out["born"] = self.born
        out |= {
            "customer": self.customer,
            "kind": self.kind,
            "valid_until": self.valid_until.isoformat(),
        }
        if self.emitted:
            out["emitted"] = True
        out["indexed"] = self.indexed
        return out


ClockState = RequestClock | EarlySteps | DocumentClock


def load(raw: Mapping[str, Any]) -> ClockState:
    """The typed state of a stored request-clock value."""
    if raw.get("doc"):
        return DocumentClock.from_json(raw)
    if "early" in raw:
        return EarlySteps.from_json(raw)
    return RequestClock.from_json(raw)
