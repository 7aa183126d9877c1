"""Which event fields are personal free text, and sealing/opening them: pure functions.

Sealing happens where an event is born (the API), opening where it is projected; Kafka
only ever holds the sealed form. A field whose key was erased (or has passed retention)
opens as nothing: optional fields become absent, required ones read ERASED.

Every sealed value is bound to the customer it was sealed for and its field (crypto.aad):
the event's own customer, except a customer.linked event, which carries the identifiers of
the customer that links (its strongest identifier's key). Values that look sealed are
never taken from callers (`sealed_input`): sealed text is only ever made here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from schemas.envelope import Envelope
from schemas.events import DATA_MODELS, EventType
from schemas.keys import customer_key
from schemas.sealed import (
    ERASED,
    IDENTIFIER_LISTS,
    REQUIRED_TEXT,
    TEXT_FIELDS,
    is_sealed,
)
from services.privacy import crypto

_LOOKS_SEALED = re.compile(r"\s*enc:v\d+:", re.IGNORECASE)


def period_of(when: datetime) -> date:
    """Data keys are per customer per calendar month, so retention can shred by month."""
    return date(when.year, when.month, 1)


class LooksSealed(ValueError):
    """A caller sent a value that looks sealed: only this module makes sealed text."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: looks like sealed text (enc:v…); send plain text")
        self.field = field


def item_field(name: str, identifier_hash: str) -> str:
    """The field name a list item's masked display is bound to (its identifier's hash)."""
    return f"{name}[{identifier_hash}].masked"


def sealed_for(event: Envelope) -> str:
    """The customer key an event's sealed text is bound to."""
    if event.type == EventType.CUSTOMER_LINKED:
        # The worker tells the weak key, but the identifiers were sealed for the customer
        # that carries them: the key of the strongest one.
        return customer_key(event.data.identifiers)  # type: ignore[attr-defined]
    return event.subject


def _rewrite(
    data: dict[str, Any], change: Callable[[str, bool, str], str | None]
) -> dict[str, Any]:
    """Apply `change(value, required, field)` to every personal field of an event's data."""
    out = dict(data)
    for name in TEXT_FIELDS:
        if isinstance(out.get(name), str):
            new = change(out[name], name in REQUIRED_TEXT, name)
            if new is None:
                del out[name]
            else:
                out[name] = new
    for name in IDENTIFIER_LISTS:
        if isinstance(out.get(name), list):
            out[name] = [
                {**item, "masked": change(item["masked"], True, item_field(name, item["hash"]))}
                for item in out[name]
            ]
    return out


def _with_data(event: Envelope, data: dict[str, Any]) -> Envelope:
    model = DATA_MODELS[event.type].model_validate(data)
    return event.model_copy(update={"data": model})


def _named_texts(data: Any) -> Iterator[tuple[str, str]]:
    """(field, value) of every personal text of a data model, sealed or not (read on the
    models: no dump)."""
    for name in TEXT_FIELDS:
        value = getattr(data, name, None)
        if isinstance(value, str):
            yield name, value
    for name in IDENTIFIER_LISTS:
        for item in getattr(data, name, None) or []:
            yield item_field(name, item.hash), item.masked


def _texts(data: Any) -> Iterator[str]:
    """Every personal text value of a data model, sealed or not."""
    return (value for _, value in _named_texts(data))


def _sealed_update(data: Any, seal: Callable[[str, str], str]) -> dict[str, Any]:
    """The fields of a data model whose plain personal text `seal(value, field)` replaces.
    Works on the models themselves (no dump and re-validation): this runs on every
    ingested event."""
    update: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = getattr(data, name, None)
        if isinstance(value, str) and not is_sealed(value):
            update[name] = seal(value, name)
    for name in IDENTIFIER_LISTS:
        items = getattr(data, name, None) or []
        if any(not is_sealed(item.masked) for item in items):
            update[name] = [
                item
                if is_sealed(item.masked)
                else item.model_copy(
                    update={"masked": seal(item.masked, item_field(name, item.hash))}
                )
                for item in items
            ]
    return update


def sealed_input(event: Envelope) -> str | None:
    """The first personal field of a new event whose text already looks sealed, if any:
    callers send plain text, so such a value is forged or copied from elsewhere."""
    for field, value in _named_texts(event.data):
        if looks_sealed(value):
            return field
    return None


def looks_sealed(value: str) -> bool:
    """Sealed, or close enough to be mistaken for it (any version, any case, spaces)."""
    return _LOOKS_SEALED.match(value) is not None


def plain_fields(event: Envelope) -> bool:
    """Does the event carry personal text that is not sealed yet?"""
    return any(not is_sealed(value) for value in _texts(event.data))


def seal_event(event: Envelope, key_id: str, data_key: bytes) -> Envelope:
    """The event with its personal text sealed. The sealed forms are valid by construction
    (schemas/sealed.py bounds them by the plain limits the event was validated against)."""
    customer = sealed_for(event)
    update = _sealed_update(
        event.data,
        lambda value, field: crypto.seal(
            key_id, data_key, value, customer_key=customer, field=field
        ),
    )
    if not update:
        return event
    return event.model_copy(update={"data": event.data.model_copy(update=update)})


def key_ids(event: Envelope) -> set[str]:
    """The data keys the event's sealed text needs."""
    return {crypto.key_id_of(value) for value in _texts(event.data) if is_sealed(value)}


def open_event(event: Envelope, keys: Mapping[str, bytes]) -> Envelope:
    """The event with its sealed fields opened; a field whose key is gone reads as erased.
    Raises crypto.Unreadable (naming the field) for a value that does not open where it
    is: forged, or moved from another customer's event or another field."""
    customer = sealed_for(event)

    def open_(value: str, required: bool, field: str) -> str | None:
        if not is_sealed(value):
            return value
        key = keys.get(crypto.key_id_of(value))
        if key is None:
            return ERASED if required else None
        return crypto.open_sealed(value, key, customer_key=customer, field=field)

    data = event.data.model_dump(mode="json", exclude_none=True)
    opened = _rewrite(data, open_)
    return event if opened == data else _with_data(event, opened)
