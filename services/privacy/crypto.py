"""Envelope encryption, pure: AES-256-GCM data keys per customer, wrapped by a master key.

The master key (CONTACTMOMENT_MASTER_KEY) never touches data; it only wraps the data keys
stored in PostgreSQL. Deleting a customer's data keys leaves their text on Kafka as
ciphertext nobody can open (crypto-shredding).

The associated data of every ciphertext binds it to its place: a version marker, the key
id, the customer key it was sealed for and the field it was sealed in (`aad`), so a sealed
value moved to another key, another customer's event or another field does not open.
Values sealed before this binding (associated data: the key id alone) still open: a value
that fails the bound form is tried once in that legacy form (a bound value never opens as a
legacy one, its tag covers the bound associated data).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from schemas.sealed import NONCE_BYTES, PREFIX, SEALED


class Unreadable(ValueError):
    """A sealed value that cannot be opened with the key given (wrong key or tampered)."""


def master_key(secret: str) -> bytes:
    """The 256-bit key-encryption key derived from the configured secret (any length ≥ 16)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"contactmoment master key v1"
    ).derive(secret.encode())


def new_key_id() -> str:
    return secrets.token_hex(16)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap(master: bytes, key_id: str, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, data_key, key_id.encode())


def unwrap(master: bytes, key_id: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.encode())
    except InvalidTag:
        raise Unreadable(f"data key {key_id} does not open with this master key") from None


AAD_VERSION = b"contactmoment-sealed-v2"


def aad(key_id: str, customer_key: str, field: str) -> bytes:
    """The associated data of a bound seal: version, key id, customer key, field name."""
    return b"\x00".join((AAD_VERSION, key_id.encode(), customer_key.encode(), field.encode()))


def seal(key_id: str, data_key: bytes, text: str, *, customer_key: str, field: str) -> str:
    """`text` sealed with the data key, bound to the customer and field it belongs to."""
    nonce = os.urandom(NONCE_BYTES)
    bound = aad(key_id, customer_key, field)
    sealed = nonce + AESGCM(data_key).encrypt(nonce, text.encode(), bound)
    return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"


def key_id_of(value: str) -> str:
    match = SEALED.match(value)
    if match is None:
        raise Unreadable("not a sealed value")
    return match.group(1)


def open_sealed(value: str, data_key: bytes, *, customer_key: str, field: str) -> str:
    """The text, if `value` was sealed with this key for this customer and field (or in
    the legacy form, bound to the key id only); else Unreadable."""
    match = SEALED.match(value)
    if match is None:
        raise Unreadable("not a sealed value")
    key_id, body = match.groups()
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise Unreadable(f"sealed text under data key {key_id} is not base64url") from None
    nonce, box = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    cipher = AESGCM(data_key)
    for associated in (aad(key_id, customer_key, field), key_id.encode()):
        try:
            return cipher.decrypt(nonce, box, associated).decode()
        except InvalidTag:
            continue
        except (ValueError, UnicodeDecodeError):
            break
    raise Unreadable(
        f"sealed text in {field} does not open with data key {key_id} for this customer "
        "(another key, customer or field, or tampered)"
    )
