"""One batch into the read model, exactly once: ledger, unseal, plan, write, lifecycle.

The live projector and replay both come through here, so a replay builds what the live
projector built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from domain.clock.norms import Catalogue
from domain.clock.norms import load as load_norms
from schemas.envelope import Envelope
from services.privacy.crypto import master_key
from services.projector import unseal
from services.readmodel import erasure, kpi_store, lifecycle, writes
from services.readmodel.projection import plan_batch
from services.settings import Settings

log = logging.getLogger(__name__)
Rejected = list[tuple[Envelope, str]]


@dataclass(frozen=True)
class ProjectionConfig:
    """What projecting needs besides the events."""

    catalogue: Catalogue
    """The service norms: due instants of the requests."""
    master: bytes
    """The key-encryption key that opens the customers' data keys (sealed text)."""
    retention: timedelta
    """Text older than this stays closed (it reads as erased)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ProjectionConfig:
        """The deployment's norms, master key and text retention."""
        return cls(
            catalogue=load_norms(settings.service_norms),
            master=master_key(settings.secret("master-key")),
            retention=timedelta(days=settings.text_retention_days),
        )


def produced_at(timestamp_ms: int) -> datetime:
    """A Kafka record's timestamp (producer's create time) as a datetime."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


async def apply_batch(
    pool: asyncpg.Pool,
    events: Sequence[tuple[str, Envelope]],
    config: ProjectionConfig,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    produced: dict[str, datetime] | None = None,
    rejected: Rejected | None = None,
) -> int:
    """Apply (topic, event) pairs exactly once; returns how many were new.

    The ledger insert and the projection writes share one transaction, so an event either
    is fully applied and recorded, or neither: a crash before commit replays it cleanly.
    An event whose sealed text does not open is neither applied nor recorded: it goes to
    `rejected` with the reason (the live projector dead-letters it), and comes back there
    should the batch be delivered again; the rest of the batch is applied.
    """
    if not events:
        return 0
    async with pool.acquire() as conn, conn.transaction():
        # An erasure waits for the batches in flight and they for it (services/privacy).
        await erasure.hold_off_erasures(conn)
        unique: dict[str, Envelope] = {}
        for _, event in events:  # a batch may hold the same id twice (a retried send)
            unique.setdefault(event.id, event)
        opened, refused = await unseal.prepare(
            conn, list(unique.values()), config.master, config.retention, now(), produced or {}
        )
        refused_ids = {event.id for event, _ in refused}
        new_ids = await writes.record_processed(
            conn, [(topic, e) for topic, e in events if e.id not in refused_ids]
        )
        todo = [event for event in opened if event.id in new_ids]
        plan = plan_batch(todo)
        await writes.write_plan(conn, plan)
        touched = {row[1] for row in plan.history}
        await lifecycle.refresh(conn, config.catalogue, touched)
        await kpi_store.update(conn, config.catalogue, plan, touched)
    for event, reason in refused:
        log.warning("projector: event %s (%s) not applied: %s", event.id, event.type.value, reason)
    if rejected is not None:
        rejected.extend(refused)
    return len(todo)
