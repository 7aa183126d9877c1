"""Pseudonymisation: keyed identifier hashes, customer keys and deterministic event ids."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from schemas.identifiers import STRENGTH, IdentifierKind, mask, normalise
from schemas.sealed import PersonalMasked

CUSTOMER_KEY_PATTERN = r"^k-[0-9a-f]{32}$"
_CUSTOMER_KEY = re.compile(CUSTOMER_KEY_PATTERN)
# Fixed namespace: event ids must come out the same on every machine and every replay.
EVENT_ID_NAMESPACE = uuid.UUID("0d7c2f3e-5b8a-4c1e-9f6d-2a4b8c0e1f35")


class Identifier(BaseModel):
    """An identifier as it travels in events: kind, keyed hash and masked display."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: IdentifierKind
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="HMAC-SHA256 of kind:value")
    masked: PersonalMasked = Field(description="safe to show to staff; sealed on the topics")


class Pseudonymiser:
    """Turns raw identifiers into hashes with the deployment's secret key material."""

    def __init__(self, key: str | bytes) -> None:
        material = key.encode() if isinstance(key, str) else key
        if len(material) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self._key = material

    def hash(self, kind: IdentifierKind, normalised: str) -> str:
        message = f"{kind.value}:{normalised}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def identifier(self, kind: IdentifierKind, raw: str, *, field: str | None = None) -> Identifier:
        """Validate, normalise, hash and mask one raw identifier (InvalidIdentifier on error)."""
        value = normalise(kind, raw, field=field)
        return Identifier(kind=kind, hash=self.hash(kind, value), masked=mask(kind, value))


def key_of(identifier_hash: str) -> str:
    """The customer key an identifier defines when it is the strongest one present."""
    return "k-" + identifier_hash[:32]


def customer_key(identifiers: Iterable[Identifier]) -> str:
    """`k-` + the hash of the strongest identifier: BSN, else KvK, else e-mail, else phone."""
    by_kind: dict[IdentifierKind, Identifier] = {}
    for ident in identifiers:
        by_kind.setdefault(ident.kind, ident)
    for kind in STRENGTH:
        if kind in by_kind:
            return key_of(by_kind[kind].hash)
    raise ValueError("a customer key needs at least one identifier")


def is_customer_key(value: str) -> bool:
    return bool(_CUSTOMER_KEY.match(value))


def event_id(source: str, source_id: str, event_type: str, part: str = "") -> str:
    """A UUID that is the same for the same source record, so retries are harmless.

    `part` tells apart several events of one type from one record (e.g. two documents).
    """
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, "\x1f".join((source, source_id, event_type, part))))


__all__ = [
    "CUSTOMER_KEY_PATTERN",
    "Identifier",
    "IdentifierKind",
    "Pseudonymiser",
    "customer_key",
    "event_id",
    "is_customer_key",
]
