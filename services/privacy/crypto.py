"""Envelope encryption, pure: AES-256-GCM data keys per customer, wrapped by a master key.

The master key (CONTACTMOMENT_MASTER_KEY) never touches data; it only wraps the data keys
stored in PostgreSQL. Deleting a customer's data keys leaves their text on Kafka as
ciphertext nobody can open (crypto-shredding). The key id is the associated data of every
ciphertext, so a sealed value cannot be replayed under another key.
"""

from __future__ import annotations

import base64
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


def seal(key_id: str, data_key: bytes, text: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + AESGCM(data_key).encrypt(nonce, text.encode(), key_id.encode())
    return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"


def key_id_of(value: str) -> str:
    match = SEALED.match(value)
    if match is None:
        raise Unreadable("not a sealed value")
    return match.group(1)


def open_sealed(value: str, data_key: bytes) -> str:
    match = SEALED.match(value)
    if match is None:
        raise Unreadable("not a sealed value")
    key_id, body = match.groups()
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        return (
            AESGCM(data_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key_id.encode()).decode()
        )
    except InvalidTag:
        raise Unreadable(f"sealed text does not open with data key {key_id}") from None
