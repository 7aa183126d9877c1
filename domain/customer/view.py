"""The customer view as the stream sees it: a pure fold of events into a summary.

State is a plain JSON dict per customer key (it lives in a changelog-backed faust table):
contact counts per channel, first/last contact, open requests, the keys it is linked to
(with the event that linked them), which of those links were verified (`verified`, on a
strong key: the event that verified it; `claims`, on a weak key: each strong key claiming
it and whether verified), and a window of recently applied event ids. Which strong key a
weak key belongs to is the one linking rule (domain/customer/linking.py): `owner`.

A redelivered event changes nothing, but its emissions are produced again: after a crash
the state may have reached the changelog while the emitted record did not. Emitted ids are
deterministic, so a repeat is harmless downstream.
"""

from __future__ import annotations

from typing import Any

from domain.customer import linking
from schemas.envelope import Envelope, new_event
from schemas.events import (
    ContactRecorded,
    CustomerLinked,
    Direction,
    EventType,
    RequestOpened,
    RequestRef,
)
from schemas.identifiers import STRONG_KINDS
from schemas.keys import Identifier, key_of

State = dict[str, Any]
RECENT_IDS = 256
SOURCE = "urn:contactmoment:worker"
CLOSING = {EventType.REQUEST_ANSWERED, EventType.REQUEST_RESOLVED, EventType.REQUEST_WITHDRAWN}


def empty() -> State:
    return {
        "contacts": 0,
        "channels": {},
        "inbound": {},
        "first": None,
        "last": None,
        "open_requests": {},
        "linked": {},
        "recent": [],
    }


def erase(offset: int) -> State:
    """The state of an erased customer: nothing of before, and where the erasure stands in
    the customer's partition (every record before it is of the erased history)."""
    return {**empty(), "erased_offset": offset}


def erased_history(state: State | None, born: int | None) -> bool:
    """Was a clock born (at this offset of the customer's partition) before an erasure?"""
    erased = (state or {}).get("erased_offset")
    return erased is not None and (born is None or born < erased)


def linked_keys(state: State) -> list[str]:
    """The keys this one is linked to: on a strong key the weak keys it carries (claims,
    exclusive or not), on a weak key the strong keys that carry it."""
    return sorted(state["linked"])


def owner(state: State, key: str) -> linking.Link | None:
    """The strong key the weak key `key` belongs to (exactly one claims it), or None."""
    claims = [
        linking.Claim(carrier, kind, hash_, verified)
        for carrier, (kind, hash_, verified) in state.get("claims", {}).items()
    ]
    return linking.owner_of(key, claims)


def most_used(inbound: dict[str, int]) -> str | None:
    """The channel the customer chooses most often themselves (inbound), ties by name."""
    return max(sorted(inbound), key=lambda c: inbound[c]) if inbound else None


def preferred_channel(state: State) -> str | None:
    return most_used(state["inbound"])


def apply(state: State | None, event: Envelope) -> tuple[State, list[Envelope]]:
    """The new state for the event's customer, and the events to emit (customer.linked)."""
    state = dict(state) if state else empty()
    data = event.data
    if event.id in state["recent"]:  # applied before: a redelivery or a retried send
        return state, _links(state, event, data.identifiers, new=False) if isinstance(
            data, ContactRecorded
        ) else []
    state["recent"] = [*state["recent"], event.id][-RECENT_IDS:]
    emit: list[Envelope] = []
    if isinstance(data, ContactRecorded):
        _count(
            state, data.channel.value, data.direction is Direction.INBOUND, event.time.isoformat()
        )
        emit = _links(state, event, data.identifiers, new=True)
    elif isinstance(data, RequestOpened):
        state["open_requests"] = {
            **state["open_requests"],
            data.request_id: data.request_type.value,
        }
    elif isinstance(data, RequestRef) and event.type in CLOSING:
        state["open_requests"] = {
            k: v for k, v in state["open_requests"].items() if k != data.request_id
        }
    elif isinstance(data, RequestRef) and event.type is EventType.REQUEST_REOPENED:
        state["open_requests"] = {**state["open_requests"], data.request_id: "reopened"}
    elif isinstance(data, CustomerLinked):
        others = [key_of(i.hash) for i in data.identifiers]
        state["linked"] = {**{k: event.id for k in others if k != event.subject}, **state["linked"]}
        _claim(state, event.subject, data.identifiers)
    return state, emit


def _claim(state: State, key: str, idents: list[Identifier]) -> None:
    """A weak key notes which strong key carries it, and whether that one verified it."""
    mine = next((i for i in idents if key_of(i.hash) == key), None)
    if mine is None or mine.kind in STRONG_KINDS:
        return
    claims = dict(state.get("claims", {}))
    for ident in idents:
        carrier = key_of(ident.hash)
        if ident.kind in STRONG_KINDS and carrier != key:
            was = claims.get(carrier, (mine.kind.value, mine.hash, False))
            claims[carrier] = (mine.kind.value, mine.hash, bool(was[2]) or mine.verified)
    state["claims"] = claims


def _count(state: State, channel: str, inbound: bool, at: str) -> None:
    state["contacts"] += 1
    state["channels"] = {**state["channels"], channel: state["channels"].get(channel, 0) + 1}
    if inbound:
        state["inbound"] = {**state["inbound"], channel: state["inbound"].get(channel, 0) + 1}
    state["first"] = min(filter(None, (state["first"], at)))
    state["last"] = max(filter(None, (state["last"], at)))


def _links(state: State, event: Envelope, idents: list[Identifier], new: bool) -> list[Envelope]:
    """A BSN/KvK key that carries an e-mail or phone tells that key it claims it.

    The weak key lives on another partition, so it learns through a `customer.linked`
    event keyed by itself, which carries the identifier's provenance (`verified`). Only
    strong keys link, and a weak key belongs to one only when no other claims it too
    (`owner`): a shared e-mail or phone number never joins two people. A link first seen
    typed and later verified is told again (its own event id), so the weak key learns it.
    """
    key = event.subject
    defining = next((i for i in idents if key_of(i.hash) == key), None)
    if defining is None or defining.kind not in STRONG_KINDS:
        return []
    emit = []
    for ident in idents:
        other = key_of(ident.hash)
        if ident.kind in STRONG_KINDS or other == key:
            continue
        if new and other not in state["linked"]:
            state["linked"] = {**state["linked"], other: event.id}
        if new and ident.verified and other not in state.get("verified", {}):
            state["verified"] = {**state.get("verified", {}), other: event.id}
        if state["linked"].get(other) == event.id:
            source_id = f"{key}>{other}"
        elif state.get("verified", {}).get(other) == event.id:
            source_id = f"{key}>{other}>verified"
        else:
            continue  # linked (and verified) by earlier events, which sent the news then
        emit.append(
            new_event(
                EventType.CUSTOMER_LINKED,
                source=SOURCE,
                source_id=source_id,
                subject=other,
                time=event.time,
                data=CustomerLinked(identifiers=[defining, ident]),
            )
        )
    return emit
