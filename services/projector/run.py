"""`contactmoment projector`: consume contact.* into PostgreSQL, offsets after the commit.

PostgreSQL down → the batch is retried with backoff and nothing is committed to Kafka, so
nothing is lost and the projector resumes exactly where it stopped. An event whose sealed
text does not open (forged, or moved from another customer or field) goes to the
dead-letter topic with the reason before the offsets are committed; the rest of its batch
is applied, and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from schemas.envelope import Envelope
from schemas.topics import ACCESS, EVENTS, NOTIFICATIONS, SIGNALS
from services.kafka.client import PLAINTEXT, KafkaAuth
from services.kafka.deadletter import Consumed, DeadLetters
from services.kafka.publisher import KafkaPublisher
from services.metrics import EVENTS_PROJECTED, PROJECTION_LAG
from services.projector.apply import ProjectionConfig, Rejected, apply_batch, produced_at
from services.projector.gauges import refresh_lag, refresh_read_model
from services.readmodel.pool import connect_pool

log = logging.getLogger(__name__)

TOPICS = (EVENTS, SIGNALS, NOTIFICATIONS, ACCESS)
GROUP = "contactmoment-projector"
RETRYABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    # A restart of the server: shutdown notices, and a pooled connection that was cut
    # mid-protocol ("cannot switch to state …") which asyncpg reports as an internal error.
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InternalClientError,
    TimeoutError,
)


def next_offsets(records: Sequence[ConsumerRecord[bytes, bytes]]) -> dict[TopicPartition, int]:
    """The offsets to commit once `records` are applied: per partition, one past the last."""
    out: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        out[tp] = max(out.get(tp, 0), record.offset + 1)
    return out


class _FinishBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, projector: Projector) -> None:
        self.projector = projector

    async def on_partitions_revoked(self, revoked: object) -> None:
        await self.projector._finish_inflight()

    async def on_partitions_assigned(self, assigned: object) -> None:
        pass


def consumed(record: ConsumerRecord[bytes, bytes]) -> Consumed:
    return Consumed(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        list(record.headers or ()),
    )


class Projector:
    def __init__(
        self,
        bootstrap: str,
        database_url: str,
        config: ProjectionConfig,
        *,
        topics: Sequence[str] = TOPICS,
        group_id: str = GROUP,
        deadletter_topic: str | None = None,
        batch_size: int = 5000,
        schema: str | None = None,
        gauges: bool = False,
        auth: KafkaAuth = PLAINTEXT,
    ) -> None:
        self.bootstrap, self.database_url, self.auth = bootstrap, database_url, auth
        self.topics, self.group_id = tuple(topics), group_id
        self.batch_size, self.schema = batch_size, schema
        self.publisher = KafkaPublisher(bootstrap, auth=auth)
        kwargs = {"topic": deadletter_topic} if deadletter_topic else {}
        self.dead_letters = DeadLetters(self.publisher, "projector", **kwargs)
        self.applied = 0
        self.config, self.gauges = config, gauges
        self._inflight: asyncio.Task[None] | None = None
        """The batch being applied while the next one is fetched and decoded."""

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            isolation_level="read_committed",
            **self.auth.aiokafka_options(),
        )
        pool = await self._pool_with_retry(stop)
        # Before a rebalance takes partitions away, the batch in flight is applied and its
        # offsets committed, so the next owner starts after it.
        consumer.subscribe(self.topics, listener=_FinishBeforeRevoke(self))
        await consumer.start()
        gauges_due = 0.0
        gauges: asyncio.Task[None] | None = None
        log.info("projector: consuming %s as group %s", ", ".join(self.topics), self.group_id)
        try:
            while not stop.is_set():
                if self.gauges and time.monotonic() > gauges_due:
                    gauges_due = time.monotonic() + 15
                    await self._refresh_lag(consumer)
                    if gauges is None or gauges.done():
                        # The read-model gauges scan 30 days of requests: on a large read
                        # model that takes seconds, which must not hold up the projection.
                        gauges = asyncio.create_task(self._refresh_read_model(pool))
                # Fetch and decode the next batch while the database applies this one.
                batch = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                records = [r for part in batch.values() for r in part]
                decoded = await self._decode(records) if records else None
                await self._finish_inflight()  # in order: its commit before the next apply
                if decoded is None or stop.is_set():
                    continue
                events, produced, origins = decoded
                self._inflight = asyncio.create_task(
                    self._apply_and_commit(
                        consumer, pool, events, produced, origins, next_offsets(records), stop
                    )
                )
        finally:
            try:
                await self._finish_inflight()
            finally:
                if gauges is not None:
                    gauges.cancel()
                    await asyncio.gather(gauges, return_exceptions=True)
                await consumer.stop()
                await pool.close()
                await self.publisher.stop()

    async def _finish_inflight(self) -> None:
        """Wait for the batch in flight: applied, dead letters sent, offsets committed."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            await inflight

    async def _apply_and_commit(
        self,
        consumer: AIOKafkaConsumer,
        pool: asyncpg.Pool,
        events: list[tuple[str, Envelope]],
        produced: dict[str, datetime],
        origins: dict[str, Consumed],
        offsets: dict[TopicPartition, int],
        stop: asyncio.Event,
    ) -> None:
        """One batch: its transaction, then its dead letters, then its offsets (only its
        own: the consumer has already fetched past it)."""
        rejected = await self._apply_with_retry(pool, events, produced, stop) if events else []
        for event, reason in rejected:  # not in the ledger: redelivered, rejected again
            await self.dead_letters.reject(origins[event.id], reason)
        try:
            await consumer.commit(offsets)
        except CommitFailedError as exc:
            # The group moved on (a rebalance): the batch is in the ledger, so its records
            # coming again to whoever owns them now are skipped there.
            log.warning("projector: offsets of an applied batch not committed: %s", exc)
        newest = max(e.time.timestamp() for _, e in events) if events else None
        if newest:
            PROJECTION_LAG.set(max(0.0, time.time() - newest))

    async def _refresh_lag(self, consumer: AIOKafkaConsumer) -> None:
        try:
            await refresh_lag(consumer, self.group_id)
        except Exception:  # gauges must never stop the projection
            log.exception("projector: refreshing the consumer-lag gauge failed")

    async def _refresh_read_model(self, pool: asyncpg.Pool) -> None:
        try:
            await refresh_read_model(pool, self.config.catalogue)
        except Exception:  # gauges must never stop the projection
            log.exception("projector: refreshing the read-model gauges failed")

    async def _decode(
        self, records: list[ConsumerRecord[bytes, bytes]]
    ) -> tuple[list[tuple[str, Envelope]], dict[str, datetime], dict[str, Consumed]]:
        """The valid events, when each record was produced (erasures compare it), and the
        record each came in (to dead-letter it)."""
        events, produced = [], {}
        origins: dict[str, Consumed] = {}
        for i, record in enumerate(records):
            if i % 200 == 199:
                await asyncio.sleep(0)  # let the batch in flight take its database replies
            origin = consumed(record)
            event = await self.dead_letters.decode(origin)
            if event is not None:
                events.append((record.topic, event))
                produced[event.id] = produced_at(record.timestamp)
                origins.setdefault(event.id, origin)
        return events, produced, origins

    async def _pool_with_retry(self, stop: asyncio.Event) -> asyncpg.Pool:
        delay = 0.5
        while True:
            try:
                return await connect_pool(self.database_url, self.schema)
            except RETRYABLE as exc:
                log.warning(
                    "projector: PostgreSQL unreachable (%s); retrying in %.1f s", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15)

    async def _apply_with_retry(
        self,
        pool: asyncpg.Pool,
        events: list[tuple[str, Envelope]],
        produced: dict[str, datetime],
        stop: asyncio.Event,
    ) -> Rejected:
        delay = 0.5
        while True:
            try:
                rejected: Rejected = []
                applied = await apply_batch(
                    pool, events, self.config, produced=produced, rejected=rejected
                )
                self.applied += applied
                for _, event in events:
                    EVENTS_PROJECTED.labels(event.type.value).inc()
                return rejected
            except RETRYABLE as exc:
                if stop.is_set():
                    raise
                # Connections that lived through the outage may be half-broken: start over.
                await pool.expire_connections()
                log.warning(
                    "projector: PostgreSQL unavailable (%s); retrying the batch of %d "
                    "in %.1f s, offsets not committed",
                    exc,
                    len(events),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15)
