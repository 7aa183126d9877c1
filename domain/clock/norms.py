"""The service-norm catalogue (deploy/config/service-norms.toml, described in docs/clock.md).

A norm per request type, optionally overridden per subject or per channel; validation
errors name the file, the table and the key, so whoever edits the file can fix it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, time
from pathlib import Path
from typing import Any

from domain.clock.calendar import IsoDuration, WorkCalendar

REQUEST_TYPES = ("question", "callback", "complaint", "application", "report")
_WORK = re.compile(r"^(\d+(?:\.\d+)?)\s+(workday|workhour)s?$")


class NormsError(ValueError):
    """The norms file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Term:
    """A term in workdays, workhours, or calendar time (ISO 8601)."""

    text: str
    unit: str  # workdays | workhours | calendar
    amount: float = 0.0
    duration: IsoDuration | None = None

    @classmethod
    def parse(cls, text: str) -> Term:
        match = _WORK.match(text.strip())
        if match:
            amount = float(match.group(1))
            if amount <= 0:
                raise ValueError("must be more than 0")
            return cls(text, f"{match.group(2)}s", amount)
        return cls(text, "calendar", duration=IsoDuration.parse(text.strip()))

    @property
    def is_work_time(self) -> bool:
        return self.unit != "calendar"

    def work_seconds(self, calendar: WorkCalendar) -> float:
        per = calendar.day_seconds if self.unit == "workdays" else 3600.0
        return self.amount * per


@dataclass(frozen=True)
class Norm:
    name: str
    term: Term
    warn_at: float = 0.75
    escalate_after: Term = field(default_factory=lambda: Term.parse("1 workday"))
    interim_every: Term = field(default_factory=lambda: Term.parse("5 workdays"))
    acknowledge_within: Term | None = None


@dataclass(frozen=True)
class Catalogue:
    calendar: WorkCalendar
    norms: dict[str, Norm]
    by_subject: dict[tuple[str, str], Norm]
    by_channel: dict[tuple[str, str], Norm]

    def lookup(
        self, request_type: str, subject: str | None = None, channel: str | None = None
    ) -> Norm:
        """Subject override first, then channel override, then the type's norm."""
        if subject and (request_type, subject.lower()) in self.by_subject:
            return self.by_subject[(request_type, subject.lower())]
        if channel and (request_type, channel) in self.by_channel:
            return self.by_channel[(request_type, channel)]
        return self.norms[request_type]


def load(path: Path) -> Catalogue:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise NormsError(f"{path}: not found (set CONTACTMOMENT_SERVICE_NORMS)") from None
    except tomllib.TOMLDecodeError as exc:
        raise NormsError(f"{path}: not valid TOML: {exc}") from None
    return parse(raw, str(path))


def parse(raw: dict[str, Any], where: str = "service-norms") -> Catalogue:
    calendar = _calendar(raw.get("calendar", {}), where)
    tables = raw.get("norms")
    if not isinstance(tables, dict):
        raise NormsError(f"{where}: missing the [norms.<request type>] tables")
    unknown = sorted(set(tables) - set(REQUEST_TYPES))
    if unknown:
        raise NormsError(
            f"{where}: [norms.{unknown[0]}] is not a request type "
            f"(use one of {', '.join(REQUEST_TYPES)})"
        )
    missing = [t for t in REQUEST_TYPES if t not in tables]
    if missing:
        raise NormsError(
            f"{where}: no norm for request type {missing[0]!r}; add a [norms.{missing[0]}] table"
        )
    norms: dict[str, Norm] = {}
    by_subject: dict[tuple[str, str], Norm] = {}
    by_channel: dict[tuple[str, str], Norm] = {}
    for rtype, table in tables.items():
        base = _norm(f"norms.{rtype}", table, where, None)
        norms[rtype] = base
        for kind, target in (("subject", by_subject), ("channel", by_channel)):
            for name, override in (table.get(kind) or {}).items():
                label = f'norms.{rtype}.{kind}."{name}"'
                target[(rtype, name.lower() if kind == "subject" else name)] = _norm(
                    label, override, where, base
                )
    return Catalogue(calendar, norms, by_subject, by_channel)


_KEYS = {
    "term",
    "warn_at",
    "escalate_after",
    "interim_every",
    "acknowledge_within",
    "subject",
    "channel",
}


def _norm(label: str, table: Any, where: str, base: Norm | None) -> Norm:
    if not isinstance(table, dict):
        raise NormsError(f"{where}: [{label}] must be a table")
    extra = sorted(set(table) - _KEYS)
    if extra:
        raise NormsError(
            f"{where}: [{label}] {extra[0]}: unknown key "
            f"(known: {', '.join(sorted(_KEYS - {'subject', 'channel'}))})"
        )

    def term(key: str, required: bool) -> Term | None:
        if key not in table:
            if required and base is None:
                raise NormsError(f"{where}: [{label}] {key}: required")
            return None
        try:
            return Term.parse(str(table[key]))
        except ValueError as exc:
            raise NormsError(
                f"{where}: [{label}] {key}: {exc} (got {table[key]!r}; "
                'use e.g. "2 workdays", "16 workhours" or "P6W")'
            ) from None

    warn_at = table.get("warn_at", base.warn_at if base else 0.75)
    if not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        raise NormsError(
            f"{where}: [{label}] warn_at: must be a fraction between 0 and 1 (got {warn_at!r})"
        )
    fields: dict[str, Any] = {"name": label.removeprefix("norms."), "warn_at": float(warn_at)}
    for key in ("term", "escalate_after", "interim_every", "acknowledge_within"):
        value = term(key, required=key == "term")
        if value is not None:
            fields[key] = value
    return replace(base, **fields) if base else Norm(**fields)


def _calendar(table: dict[str, Any], where: str) -> WorkCalendar:
    def clock(key: str, default: time) -> time:
        if key not in table:
            return default
        try:
            return time.fromisoformat(str(table[key]))
        except ValueError:
            raise NormsError(
                f"{where}: [calendar] {key}: expected HH:MM (got {table[key]!r})"
            ) from None

    rule = table.get("liberation_day", "lustrum")
    if rule not in ("lustrum", "every-year"):
        raise NormsError(
            f'{where}: [calendar] liberation_day: use "lustrum" (every fifth '
            f'year, the default) or "every-year" (got {rule!r})'
        )
    try:
        closed = frozenset(date.fromisoformat(str(d)) for d in table.get("extra_closed", []))
    except ValueError as exc:
        raise NormsError(f"{where}: [calendar] extra_closed: {exc}") from None
    try:
        return WorkCalendar(
            clock("workday_start", time(8, 30)),
            clock("workday_end", time(17)),
            rule == "every-year",
            closed,
        )
    except ValueError as exc:
        raise NormsError(f"{where}: [calendar] {exc}") from None
