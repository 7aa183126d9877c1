"""Before a batch is projected: drop what an erasure removed, open the sealed text.

Runs inside the batch's transaction, on the live projector and on replay alike, so a replay
after an erasure brings none of the erased customer's data back, and text past its
retention stays closed even where Kafka still holds the ciphertext.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from schemas.envelope import Envelope
from schemas.events import ACCESS_TYPES, NOTIFICATION_TYPES, SIGNAL_TYPES, CustomerLinked
from schemas.identifiers import STRONG_KINDS
from schemas.keys import key_of
from services.privacy.keystore import KeyStore
from services.privacy.sealing import key_ids, open_event
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
) -> list[Envelope]:
    """The events that outlive their customers' erasures, with their sealed text opened
    (text older than `retention` stays closed)."""
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
    wanted = {k for e in events for k in key_ids(e)}
    keys = await KeyStore(master).keys(conn, wanted) if wanted else {}
    horizon = now - retention
    return [open_event(e, keys if e.time >= horizon else {}) for e in events]
