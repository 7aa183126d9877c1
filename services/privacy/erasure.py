"""Erasure on request (AVG art. 17): delete the customer's data keys, purge the read model,
tell the stream processors.

An erasure takes the keys the customer alone owns: their own key and the e-mail and phone
keys verified as theirs and carried by no one else (domain/customer/linking.py). A shared or
unverified e-mail or phone key loses only its link to the customer; its own history belongs
to nobody or to others, and stays.

What stays: the events on Kafka, whose personal text is now ciphertext without a key; the
access log (accountability, AVG art. 5(2): who read the data, under a pseudonymous key); the
erasure record itself, which makes every later replay drop the customer's earlier events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import asyncpg

from schemas.envelope import Envelope, new_event
from schemas.events import CustomerErased, EventType
from services.kafka.errors import KafkaAdapterError
from services.privacy.keycache import ANNOUNCE_GRACE, announce
from services.readmodel import customers, erasure
from services.readmodel.erasure import PURGED

__all__ = ["PURGED", "ErasureReport", "NotAnnounced", "erase", "erase_customer", "erased_events"]


@dataclass
class ErasureReport:
    keys: list[str]
    erased_at: datetime
    data_keys_deleted: int = 0
    rows_purged: dict[str, int] = field(default_factory=dict)


class EventPublisher(Protocol):
    """Where the customer.erased events go (the events topic, acks=all)."""

    async def publish(self, events: Sequence[Envelope]) -> None: ...


class NotAnnounced(Exception):
    """The read model and the data keys are erased, but the customer.erased events did not
    reach Kafka: the stream processors still hold the customer's clocks. Erasing again is
    safe and tells them (unless `retriable` is false: Kafka refused the records as such)."""

    def __init__(self, report: ErasureReport, cause: KafkaAdapterError) -> None:
        super().__init__(str(cause))
        self.report = report
        self.retriable = cause.retriable


async def erase(conn: asyncpg.Connection, keys: list[str]) -> ErasureReport:
    """Erase these keys (one customer: its key and every key linked to it); safe to repeat."""
    # Processes that cache data keys drop these customers' and stop caching them; by the
    # time the keys go, every seal reads the database (services/privacy/keycache.py).
    await announce(conn, keys)
    await asyncio.sleep(ANNOUNCE_GRACE)
    async with conn.transaction():
        erased_at = await erasure.wait_for_batches(conn)
        await announce(conn, keys)  # delivered when the deletion commits
        report = ErasureReport(keys, erased_at)
        report.data_keys_deleted = await erasure.delete_data_keys(conn, keys)
        weak = await erasure.carried_weak_keys(conn, keys)
        report.rows_purged = await erasure.purge(conn, keys)
        for table, n in (await erasure.unlink(conn, keys)).items():
            report.rows_purged[table] += n
        report.rows_purged["customer_identifiers"] += await erasure.drop_orphans(conn, weak)
        await erasure.record(
            conn, keys, erased_at, report.data_keys_deleted, sum(report.rows_purged.values())
        )
    await erasure.vacuum_data_keys(conn)
    return report


async def erase_customer(
    conn: asyncpg.Connection, publisher: EventPublisher, customer_key: str
) -> ErasureReport:
    """The whole erasure of one customer: the keys they alone own in the read model (see
    the module), then customer.erased for each on Kafka. Raises NotAnnounced (carrying the
    report) when the erasure is done but Kafka did not take the events."""
    report = await erase(conn, await owned_keys(conn, customer_key))
    try:
        await publisher.publish(erased_events(report.keys, report.erased_at))
    except KafkaAdapterError as exc:
        raise NotAnnounced(report, exc) from exc
    return report


async def owned_keys(conn: asyncpg.Connection, customer_key: str) -> list[str]:
    """The keys an erasure of `customer_key` takes: the customer's verified cluster. A weak
    key asked for by itself, whose link to a strong key is not verified, is only itself
    (never the person who merely typed it)."""
    group = await customers.cluster(conn, customer_key)
    if group is None:
        return [customer_key]
    owned = group.verified()
    return owned.keys if customer_key in owned.keys else [customer_key]


def erased_events(keys: list[str], erased_at: datetime) -> list[Envelope]:
    """customer.erased for every erased key: the stream worker drops the clocks and the view
    of the erased history. Deterministic ids, so telling it again is harmless."""
    return [
        new_event(
            EventType.CUSTOMER_ERASED,
            source="urn:contactmoment:privacy",
            source_id=f"{key}@{erased_at.isoformat()}",
            subject=key,
            time=erased_at,
            data=CustomerErased(),
        )
        for key in keys
    ]
