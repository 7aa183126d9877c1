"""`contactmoment replay`: rebuild the read model from the topics into a fresh schema.

Kafka is the source of truth; PostgreSQL is a projection. Replay reads every topic from
the beginning up to the offsets it found at start, through the same projection code as the
live projector, into a new schema — and can compare the result with the live tables.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.envelope import InvalidEvent, decode
from services.kafka.client import PLAINTEXT, KafkaAuth
from services.kafka.topics import partition_counts
from services.projector.apply import ProjectionConfig, apply_batch, produced_at
from services.projector.run import TOPICS
from services.readmodel.compare import differences
from services.readmodel.migrate import migrate, valid_schema
from services.readmodel.pool import connect_pool

__all__ = ["ReplayResult", "differences", "replay"]


@dataclass
class ReplayResult:
    schema: str
    events: int = 0
    invalid: int = 0
    seconds: float = 0.0
    by_topic: dict[str, int] = field(default_factory=dict)
    differences: dict[str, int] | None = None
    """With `compare_with`: rows per table that differ from that schema's (0: equal)."""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def equal(self) -> bool:
        """The copy equals the schema it was compared with (False when not compared)."""
        return self.differences is not None and not any(self.differences.values())


async def replay(
    bootstrap: str,
    database_url: str,
    config: ProjectionConfig,
    *,
    schema: str | None = None,
    topics: Sequence[str] = TOPICS,
    batch_size: int = 5000,
    progress: bool = False,
    compare_with: str | None = None,
    auth: KafkaAuth = PLAINTEXT,
) -> ReplayResult:
    """Rebuild the read model from `topics` (up to their offsets at start) into `schema`
    (default: replay_<timestamp>), created and migrated first; with `compare_with`, the copy
    is then compared with that schema (the live one is `public`)."""
    schema = valid_schema(schema or f"replay_{datetime.now(UTC):%Y%m%d_%H%M%S}")
    migrate(database_url, schema)
    result = ReplayResult(schema)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        isolation_level="read_committed",
        max_poll_records=batch_size,
        **auth.aiokafka_options(),
    )
    await consumer.start()
    pool = await connect_pool(database_url, schema)
    started = time.monotonic()
    inflight: asyncio.Task[int] | None = None
    try:
        counts = await partition_counts(bootstrap, list(topics), auth)
        partitions = [TopicPartition(t, p) for t, n in counts.items() for p in range(n)]
        if not partitions:
            raise ValueError(f"none of the topics {', '.join(topics)} exist; run topics create")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            # Fetch and decode the next batch while the database applies this one; the
            # batches are applied one after the other, in the order they were read.
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch_size)
            events = []
            produced: dict[str, datetime] = {}
            for tp, records in batch.items():
                for i, record in enumerate(records):
                    if i % 200 == 199:
                        await asyncio.sleep(0)  # the batch in flight takes its replies
                    if record.offset >= ends[tp]:
                        continue  # arrived after the replay started: not part of this copy
                    try:
                        event = decode(record.value or b"")
                        events.append((record.topic, event))
                        produced[event.id] = produced_at(record.timestamp)
                    except InvalidEvent:
                        result.invalid += 1  # the live projector dead-lettered it already
                    result.by_topic[record.topic] = result.by_topic.get(record.topic, 0) + 1
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if inflight is not None:
                await inflight
                inflight = None
            if events:
                inflight = asyncio.create_task(apply_batch(pool, events, config, produced=produced))
            result.events += len(events)
            if progress:
                print(f"\rreplayed {result.events} events …", end="", flush=True)
        if inflight is not None:
            await inflight
        if progress:
            print()
    finally:
        if inflight is not None and not inflight.done():  # failed meanwhile: not committed
            inflight.cancel()
            await asyncio.gather(inflight, return_exceptions=True)
        result.seconds = time.monotonic() - started
        await pool.close()
        await consumer.stop()
    if compare_with is not None:
        result.differences = await differences(database_url, compare_with, schema)
    return result
