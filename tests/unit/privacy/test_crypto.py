"""Envelope encryption: sealed text opens only with its own data key and key id, and data
keys unwrap only with the master key that wrapped them."""

import base64

import pytest

from schemas.sealed import SEALED, sealed_length
from services.privacy import crypto
from services.privacy.crypto import Unreadable

# Where a value is sealed: the customer and field its associated data binds it to.
AT = {"customer_key": "k-" + "a" * 32, "field": "summary"}

TEXTS = [
    "Vraagt naar de wachttijd voor een bewonersvergunning.",
    "Mevrouw Ünal-Çelik belt over de WOZ-beschikking: €1.234,56 — ‘te hoog’ 🏠",
    "",
    "é" * 20_000,
    "🏠" * 20_000,  # four UTF-8 bytes a character: the longest sealed form there is
]


@pytest.mark.parametrize("text", TEXTS, ids=["ascii", "non-ascii", "empty", "20k-2b", "20k-4b"])
def test_seal_and_open_round_trip(text: str) -> None:
    key_id, key = crypto.new_key_id(), crypto.new_data_key()
    sealed = crypto.seal(key_id, key, text, **AT)
    match = SEALED.match(sealed)
    assert match is not None
    assert match.group(1) == key_id
    assert crypto.key_id_of(sealed) == key_id
    assert len(sealed) <= sealed_length(len(text))
    if text:
        assert text not in sealed
    assert crypto.open_sealed(sealed, key, **AT) == text


def test_the_same_text_seals_differently_each_time() -> None:
    key_id, key = crypto.new_key_id(), crypto.new_data_key()
    first, second = (crypto.seal(key_id, key, "dezelfde notitie", **AT) for _ in range(2))
    assert first != second
    assert (
        crypto.open_sealed(first, key, **AT)
        == crypto.open_sealed(second, key, **AT)
        == "dezelfde notitie"
    )


def test_another_data_key_does_not_open_it() -> None:
    key_id = crypto.new_key_id()
    sealed = crypto.seal(key_id, crypto.new_data_key(), "geheim", **AT)
    with pytest.raises(Unreadable):
        crypto.open_sealed(sealed, crypto.new_data_key(), **AT)


def _body(sealed: str) -> tuple[str, bytearray]:
    match = SEALED.match(sealed)
    assert match is not None
    key_id, body = match.groups()
    return key_id, bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _reseal(key_id: str, raw: bytes | bytearray) -> str:
    return f"enc:v1:{key_id}:{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"


@pytest.mark.parametrize("position", [0, 12, -1], ids=["nonce", "ciphertext", "tag"])
def test_a_tampered_body_does_not_open(position: int) -> None:
    key_id, key = crypto.new_key_id(), crypto.new_data_key()
    _, raw = _body(crypto.seal(key_id, key, "onveranderd", **AT))
    raw[position] ^= 0x01
    tampered = _reseal(key_id, raw)
    assert SEALED.match(tampered) is not None
    with pytest.raises(Unreadable):
        crypto.open_sealed(tampered, key, **AT)


def test_the_key_id_is_bound_to_the_ciphertext() -> None:
    key = crypto.new_data_key()
    key_id, other_id = crypto.new_key_id(), crypto.new_key_id()
    _, raw = _body(crypto.seal(key_id, key, "voor één sleutel", **AT))
    relabelled = _reseal(other_id, raw)
    assert crypto.key_id_of(relabelled) == other_id
    with pytest.raises(Unreadable):
        crypto.open_sealed(relabelled, key, **AT)  # even with the very key that sealed it


@pytest.mark.parametrize("value", ["plain text", "enc:v1:nothex:AAAA", "enc:v1:" + "a" * 32 + ":x"])
def test_what_is_not_a_sealed_value_is_unreadable(value: str) -> None:
    with pytest.raises(Unreadable):
        crypto.open_sealed(value, crypto.new_data_key(), **AT)
    with pytest.raises(Unreadable):
        crypto.key_id_of(value)


def test_wrap_and_unwrap_round_trip() -> None:
    master = crypto.master_key("a-master-secret-of-enough-length")
    key_id, key = crypto.new_key_id(), crypto.new_data_key()
    wrapped = crypto.wrap(master, key_id, key)
    assert key not in wrapped
    assert crypto.unwrap(master, key_id, wrapped) == key


def test_a_wrong_master_key_or_key_id_does_not_unwrap() -> None:
    master = crypto.master_key("a-master-secret-of-enough-length")
    other = crypto.master_key("another-master-secret-entirely")
    key_id, key = crypto.new_key_id(), crypto.new_data_key()
    wrapped = crypto.wrap(master, key_id, key)
    with pytest.raises(Unreadable):
        crypto.unwrap(other, key_id, wrapped)
    with pytest.raises(Unreadable):
        crypto.unwrap(master, crypto.new_key_id(), wrapped)


def test_master_key_is_deterministic_per_secret() -> None:
    one = crypto.master_key("a-master-secret-of-enough-length")
    assert crypto.master_key("a-master-secret-of-enough-length") == one
    assert len(one) == 32
    assert crypto.master_key("a-master-secret-of-enough-lengtH") != one
    assert one != b"a-master-secret-of-enough-length"[:32]  # derived, not the secret itself
