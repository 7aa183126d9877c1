"""Before a batch is projected: drop what an erasure removed, open the sealed text.

Runs inside the batch's transaction, on the live projector and on replay alike, so a replay
after an erasure brings none of the erased customer's data back, and text past its
retention stays closed even where Kafka still holds the ciphertext.

Sealed text that does not open where it is (forged, or moved from another customer's event
or another field: its key belongs to someone else, or its tag does not hold) rejects its
event, with a reason; the caller dead-letters it and applies the rest of the batch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from schemas.envelope import Envelope
from schemas.events import ACCESS_TYPES, NOTIFICATION_TYPES, SIGNAL_TYPES, CustomerLinked
from schemas.identifiers import STRONG_KINDS
from schemas.keys import key_of
from services.privacy.crypto import Unreadable
from services.privacy.keystore import KeyStore
from services.privacy.sealing import key_ids, open_event, sealed_for
from services.readmodel import erasure, worklist


def survives(
    event: Envelope,
    erased_at: datetime | None,
    known_requests: set[str],
    produced: datetime | None = None,
) -> bool:
    """Does an event outlive its customer's erasure? The access log does, and what was
    recorded after the erasure (a late report of an earlier call is new data); a signal or
    notification about a request the erasure removed does not."""
    if erased_at is None or event.type in ACCESS_TYPES:
        return True  # the access log is kept: it is the evidence of who read the data
    if (produced or event.time) <= erased_at:
        return False
    if event.type in SIGNAL_TYPES | NOTIFICATION_TYPES:
        request_id = getattr(event.data, "request_id", None)
        return request_id is None or request_id in known_requests
    return True


def erased_with(event: Envelope) -> set[str]:
    """The customers whose erasure takes this event: its own, and for a customer.linked
    the strong key that linked (a link to an erased customer goes with them)."""
    keys = {event.subject}
    if isinstance(event.data, CustomerLinked):
        keys |= {key_of(i.hash) for i in event.data.identifiers if i.kind in STRONG_KINDS}
    return keys


async def prepare(
    conn: asyncpg.Connection,
    events: list[Envelope],
    master: bytes,
    retention: timedelta,
    now: datetime,
    produced: dict[str, datetime],
) -> tuple[list[Envelope], list[tuple[Envelope, str]]]:
    """The events that outlive their customers' erasures, with their sealed text opened
    (text older than `retention` stays closed); and the events whose sealed text does not
    open, each with the reason."""
    gone = await erasure.erased(conn, {k for e in events for k in erased_with(e)})
    if gone:
        asked = sorted({getattr(e.data, "request_id", None) or "" for e in events} - {""})
        known = await worklist.existing(conn, asked)
        events = [
            e
            for e in events
            if survives(
                e,
                max((gone[k] for k in erased_with(e) if k in gone), default=None),
                known,
                produced.get(e.id),
            )
        ]
    needs = [key_ids(e) for e in events]  # read once: each walks the event's text fields
    wanted = set().union(*needs)
    owned = await KeyStore(master).owned_keys(conn, wanted) if wanted else {}
    keys = {key_id: key for key_id, (_, key) in owned.items()}
    owners = {key_id: owner for key_id, (owner, _) in owned.items()}
    horizon = now - retention
    opened, rejected = [], []
    for event, needed in zip(events, needs, strict=True):
        if not needed:  # nothing sealed: open_event would give the event back unchanged
            opened.append(event)
            continue
        reason = foreign_key(event, owners, needed)
        if reason is None:
            try:
                opened.append(open_event(event, keys if event.time >= horizon else {}))
                continue
            except Unreadable as exc:
                reason = f"unreadable sealed text: {exc}"
        rejected.append((event, reason))
    return opened, rejected


def foreign_key(
    event: Envelope, owners: dict[str, str], needed: set[str] | None = None
) -> str | None:
    """Why the event's sealed text uses a data key of another customer, or None when every
    key it names (`needed`: its key ids, when the caller has them) that still exists
    belongs to the customer it was sealed for."""
    customer = sealed_for(event)
    for key_id in sorted(key_ids(event) if needed is None else needed):
        owner = owners.get(key_id)
        if owner is not None and owner != customer:
            return (
                f"sealed text under data key {key_id}, which belongs to another customer "
                f"than the event's ({customer})"
            )
    return None
