"""Which e-mail and phone keys belong to which person: the one linking rule.

A BSN or KvK key (a *strong* key) identifies one person or business. An e-mail address or
phone number (a *weak* key) can be shared: a family landline, a household address. A weak
key joins a strong key's view only when exactly one strong key carries it; when several do,
it belongs to none of them, so one person's history never shows in another's. Whether the
link is *verified* (the channel checked that the address or number is that person's) is
kept beside it: staff see an unverified link marked as such, the resident sees only
verified links (docs/privacy.md).

The stream's customer view and the read model's cluster query both decide with `owners`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.identifiers import STRONG_KINDS, IdentifierKind
from schemas.keys import key_of


@dataclass(frozen=True)
class Claim:
    """A strong key carries a weak identifier (a row of customer_identifiers, or a
    customer.linked event): `carrier` claims the weak key `key_of(hash)`."""

    carrier: str
    kind: IdentifierKind
    hash: str
    verified: bool

    @property
    def weak_key(self) -> str:
        return key_of(self.hash)


@dataclass(frozen=True)
class Link:
    """A weak key that belongs to one strong key, and whether that is verified."""

    owner: str
    weak_key: str
    verified: bool


def is_strong_key(key: str, carried: Iterable[tuple[IdentifierKind | str, str]]) -> bool:
    """Is `key` defined by a BSN or KvK it carries ((kind, hash) pairs of its identifiers)?"""
    return any(IdentifierKind(kind) in STRONG_KINDS and key_of(h) == key for kind, h in carried)


def owners(claims: Iterable[Claim]) -> dict[str, Link]:
    """Every weak key that exactly one strong key claims, with its link; a weak key claimed
    by several strong keys is absent (linked to none). Strong identifiers are never claims
    (two strong keys never join), and a carrier claiming its own key is not a link.

    A link is verified when any of the owner's sightings of it was verified. Every claim
    counts toward sharing, verified or not: an unverified claim can only take a link away,
    never give someone another person's history."""
    by_weak: dict[str, dict[str, bool]] = {}
    for claim in claims:
        if claim.kind in STRONG_KINDS or claim.weak_key == claim.carrier:
            continue
        carriers = by_weak.setdefault(claim.weak_key, {})
        carriers[claim.carrier] = carriers.get(claim.carrier, False) or claim.verified
    return {
        weak: Link(owner, weak, verified)
        for weak, carriers in by_weak.items()
        if len(carriers) == 1
        for owner, verified in carriers.items()
    }


def owned_by(owner: str, claims: Iterable[Claim]) -> list[Link]:
    """The links of one strong key, by weak key; `claims` must hold every strong key's
    claims on the weak identifiers `owner` carries (else sharing goes unseen)."""
    return sorted(
        (link for link in owners(claims).values() if link.owner == owner),
        key=lambda link: link.weak_key,
    )


def owner_of(weak_key: str, claims: Iterable[Claim]) -> Link | None:
    """The one strong key a weak key belongs to, or None (no strong key, or several);
    `claims` must hold every strong key's claim on the weak key's identifier."""
    return owners(c for c in claims if c.weak_key == weak_key).get(weak_key)
