"""Sealed text is bound to its customer and field: moved anywhere else it does not open;
text sealed before the binding (bound to its key id only) still opens."""

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.envelope import new_event
from schemas.events import CustomerLinked, EventType, RequestInterimUpdate
from schemas.keys import key_of
from schemas.sealed import NONCE_BYTES, PREFIX
from services.privacy import crypto, sealing
from services.privacy.crypto import Unreadable
from tests.unit.privacy.test_sealing import IDENTIFIERS, KEY, NOTES, OTHER, contact, event

KEY_ID, DATA_KEY = crypto.new_key_id(), crypto.new_data_key()
KEYS = {KEY_ID: DATA_KEY}


def legacy_seal(key_id: str, data_key: bytes, text: str) -> str:
    """A value as the code before the binding sealed it: associated data = the key id."""
    nonce = os.urandom(NONCE_BYTES)
    raw = nonce + AESGCM(data_key).encrypt(nonce, text.encode(), key_id.encode())
    return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"


def test_a_summary_moved_to_another_customers_event_does_not_open() -> None:
    sealed = sealing.seal_event(contact(), KEY_ID, DATA_KEY)
    moved = sealing.seal_event(contact(subject=OTHER, n="2"), KEY_ID, DATA_KEY)
    moved = moved.model_copy(
        update={"data": moved.data.model_copy(update={"summary": sealed.data.summary})}  # type: ignore[attr-defined]
    )
    with pytest.raises(Unreadable, match="summary"):
        sealing.open_event(moved, KEYS)


def test_a_summary_moved_to_another_field_does_not_open() -> None:
    sealed = sealing.seal_event(contact(), KEY_ID, DATA_KEY)
    note = event(
        EventType.REQUEST_INTERIM_UPDATE,
        RequestInterimUpdate(request_id="r-1", note=sealed.data.summary),  # type: ignore[attr-defined]
        n="3",
    )
    with pytest.raises(Unreadable, match="note"):
        sealing.open_event(note, KEYS)


def test_a_masked_display_moved_to_another_identifier_does_not_open() -> None:
    sealed = sealing.seal_event(contact(), KEY_ID, DATA_KEY)
    items = list(sealed.data.identifiers)  # type: ignore[attr-defined]
    swapped = [items[0].model_copy(update={"masked": items[1].masked}), *items[1:]]
    moved = sealed.model_copy(
        update={"data": sealed.data.model_copy(update={"identifiers": swapped})}
    )
    with pytest.raises(Unreadable):
        sealing.open_event(moved, KEYS)


def test_text_sealed_before_the_binding_still_opens() -> None:
    old = contact(summary=legacy_seal(KEY_ID, DATA_KEY, NOTES))
    assert sealing.open_event(old, KEYS).data.summary == NOTES  # type: ignore[attr-defined]


def test_a_bound_value_does_not_open_as_a_legacy_one_elsewhere() -> None:
    bound = crypto.seal(KEY_ID, DATA_KEY, NOTES, customer_key=KEY, field="summary")
    assert crypto.open_sealed(bound, DATA_KEY, customer_key=KEY, field="summary") == NOTES
    with pytest.raises(Unreadable):
        crypto.open_sealed(bound, DATA_KEY, customer_key=KEY, field="note")


def test_customer_linked_opens_with_the_linking_customers_binding() -> None:
    sealed = sealing.seal_event(contact(), KEY_ID, DATA_KEY)
    strong, weak = sealed.data.identifiers[0], sealed.data.identifiers[1]  # type: ignore[attr-defined]
    linked = new_event(
        EventType.CUSTOMER_LINKED,
        source="urn:contactmoment:worker",
        source_id=f"{KEY}>{key_of(weak.hash)}",
        subject=key_of(weak.hash),  # told to the weak key, sealed for the strong one
        time=sealed.time,
        data=CustomerLinked(identifiers=[strong, weak]),
    )
    opened = sealing.open_event(linked, KEYS)
    assert (
        [i.masked for i in opened.data.identifiers]
        == [  # type: ignore[attr-defined]
            i.masked for i in IDENTIFIERS[:2]
        ]
    )


@pytest.mark.parametrize(
    "value",
    ["enc:v1:" + "a" * 32 + ":" + "A" * 40, " ENC:V1:x", "enc:v2:" + "a" * 40, "\tenc:v9:zz"],
)
def test_values_that_look_sealed_are_named(value: str) -> None:
    assert sealing.sealed_input(contact(summary=value)) == "summary"
    assert sealing.sealed_input(contact(summary="versleuteld: enc:v1:… stond in de mail")) is None
