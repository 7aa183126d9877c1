"""Which event fields are personal free text, and sealing/opening them: pure functions.

Sealing happens where an event is born (the API), opening where it is projected; Kafka
only ever holds the sealed form. A field whose key was erased (or has passed retention)
opens as nothing: optional fields become absent, required ones read ERASED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from schemas.envelope import Envelope
from schemas.events import DATA_MODELS
from schemas.sealed import is_sealed
from services.privacy import crypto

# Top-level personal text fields (a required one cannot vanish when its key is gone: it reads
# ERASED), and lists whose items carry a personal `masked` display (required as well).
OPTIONAL_TEXT = ("summary", "note", "comment")
REQUIRED_TEXT = ("reason",)
TEXT_FIELDS = OPTIONAL_TEXT + REQUIRED_TEXT
IDENTIFIER_LISTS = ("identifiers",)
ERASED = "[gewist]"


def period_of(when: datetime) -> date:
    """Data keys are per customer per calendar month, so retention can shred by month."""
    return date(when.year, when.month, 1)


def _rewrite(data: dict[str, Any], change: Callable[[str, bool], str | None]) -> dict[str, Any]:
    """Apply `change(value, required)` to every personal field of an event's data."""
    out = dict(data)
    for name in TEXT_FIELDS:
        if isinstance(out.get(name), str):
            new = change(out[name], name in REQUIRED_TEXT)
            if new is None:
                del out[name]
            else:
                out[name] = new
    for name in IDENTIFIER_LISTS:
        if isinstance(out.get(name), list):
            out[name] = [{**item, "masked": change(item["masked"], True)} for item in out[name]]
    return out


def _with_data(event: Envelope, data: dict[str, Any]) -> Envelope:
    model = DATA_MODELS[event.type].model_validate(data)
    return event.model_copy(update={"data": model})


def _texts(data: Any) -> Iterator[str]:
    """Every personal text value of a data model, sealed or not (read on the models: no dump)."""
    for name in TEXT_FIELDS:
        value = getattr(data, name, None)
        if isinstance(value, str):
            yield value
    for name in IDENTIFIER_LISTS:
        for item in getattr(data, name, None) or []:
            yield item.masked


def _sealed_update(data: Any, seal: Callable[[str], str]) -> dict[str, Any]:
    """The fields of a data model whose plain personal text `seal` replaces. Works on the
    models themselves (no dump and re-validation): this runs on every ingested event."""
    update: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = getattr(data, name, None)
        if isinstance(value, str) and not is_sealed(value):
            update[name] = seal(value)
    for name in IDENTIFIER_LISTS:
        items = getattr(data, name, None) or []
        if any(not is_sealed(item.masked) for item in items):
            update[name] = [
                item
                if is_sealed(item.masked)
                else item.model_copy(update={"masked": seal(item.masked)})
                for item in items
            ]
    return update


def plain_fields(event: Envelope) -> bool:
    """Does the event carry personal text that is not sealed yet?"""
    return any(not is_sealed(value) for value in _texts(event.data))


def seal_event(event: Envelope, key_id: str, data_key: bytes) -> Envelope:
    """The event with its personal text sealed. The sealed forms are valid by construction
    (schemas/sealed.py bounds them by the plain limits the event was validated against)."""
    update = _sealed_update(event.data, lambda value: crypto.seal(key_id, data_key, value))
    if not update:
        return event
    return event.model_copy(update={"data": event.data.model_copy(update=update)})


def key_ids(event: Envelope) -> set[str]:
    """The data keys the event's sealed text needs."""
    return {crypto.key_id_of(value) for value in _texts(event.data) if is_sealed(value)}


def open_event(event: Envelope, keys: Mapping[str, bytes]) -> Envelope:
    """The event with its sealed fields opened; a field whose key is gone reads as erased."""

    def open_(value: str, required: bool) -> str | None:
        if not is_sealed(value):
            return value
        key = keys.get(crypto.key_id_of(value))
        if key is None:
            return ERASED if required else None
        return crypto.open_sealed(value, key)

    data = event.data.model_dump(mode="json", exclude_none=True)
    opened = _rewrite(data, open_)
    return event if opened == data else _with_data(event, opened)
