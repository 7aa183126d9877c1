"""Pseudonymisation: keyed identifier hashes, customer keys and deterministic event ids."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.identifiers import STRENGTH, STRONG_KINDS, IdentifierKind, mask, normalise
from schemas.sealed import PersonalMasked

CUSTOMER_KEY_PATTERN = r"^k-[0-9a-f]{32}$"
_CUSTOMER_KEY = re.compile(CUSTOMER_KEY_PATTERN)
# Fixed namespace: event ids must come out the same on every machine and every replay.
EVENT_ID_NAMESPACE = uuid.UUID("0d7c2f3e-5b8a-4c1e-9f6d-2a4b8c0e1f35")


def verified_by_default(kind: IdentifierKind | str) -> bool:
    """Provenance of an identifier from before events said it: a BSN or KvK number came from
    an authenticated channel (DigiD, eHerkenning, a checked ID, an agent's check); an e-mail
    address or phone number may have been typed in by anyone."""
    return IdentifierKind(kind) in STRONG_KINDS


def _no_schema_default(schema: dict[str, Any]) -> None:
    # The default depends on the kind (verified_by_default): no single value to publish.
    schema["properties"]["verified"].pop("default", None)


class Identifier(BaseModel):
    """An identifier as it travels in events: kind, keyed hash, masked display, and whether
    the channel verified that it belongs to the person the event is about."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_no_schema_default)

    kind: IdentifierKind
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="HMAC-SHA256 of kind:value")
    masked: PersonalMasked = Field(description="safe to show to staff; sealed on the topics")
    verified: bool = Field(
        default=False,
        description=(
            "the channel verified it for this person (DigiD/eHerkenning login, a checked ID "
            "at the counter, the caller's line on a call whose caller the agent verified); "
            "false when it was typed in (a contact address on a web form, a number given "
            "on the phone). Missing (events from before this field): true for bsn and kvk, "
            "false for email and phone"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _provenance_of_older_events(cls, values: Any) -> Any:
        if isinstance(values, dict) and "verified" not in values and "kind" in values:
            try:
                return {**values, "verified": verified_by_default(values["kind"])}
            except ValueError:
                return values  # an unknown kind: the field validation names it
        return values


class Pseudonymiser:
    """Turns raw identifiers into hashes with the deployment's secret key material."""

    def __init__(self, key: str | bytes) -> None:
        material = key.encode() if isinstance(key, str) else key
        if len(material) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self._key = material

    def derived_key(self, purpose: bytes) -> bytes:
        """A key for another use (e.g. the pages' CSRF tokens), derived from the same
        material under a purpose string: it never equals an identifier hash (those hash
        `kind:value`; purposes are not such a string)."""
        return hmac.new(self._key, b"derive:" + purpose, hashlib.sha256).digest()

    def hash(self, kind: IdentifierKind, normalised: str) -> str:
        message = f"{kind.value}:{normalised}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def identifier(
        self,
        kind: IdentifierKind,
        raw: str,
        *,
        field: str | None = None,
        verified: bool | None = None,
    ) -> Identifier:
        """Validate, normalise, hash and mask one raw identifier (InvalidIdentifier on error);
        `verified` None: the default of its kind (verified_by_default)."""
        value = normalise(kind, raw, field=field)
        return Identifier(
            kind=kind,
            hash=self.hash(kind, value),
            masked=mask(kind, value),
            verified=verified_by_default(kind) if verified is None else verified,
        )


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
    "verified_by_default",
]
