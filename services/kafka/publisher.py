"""The publishing port: hand records to Kafka and return only once Kafka has them all.

`KafkaPublisher` is the real adapter (acks=all, idempotent producer); `MemoryPublisher`
keeps records in a list and can be set to fail the ways Kafka does (down, record too
large). Both pass the same contract tests (tests/integration/test_publisher_contract.py).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from schemas.envelope import CONTENT_TYPE, Envelope, encode
from schemas.topics import EVENTS
from services.kafka.client import PLAINTEXT, KafkaAuth
from services.kafka.errors import KafkaAdapterError, RecordTooLarge, Unavailable

log = logging.getLogger(__name__)

# Kafka's default message.max.bytes is 1,048,588 per record batch; this leaves room for the
# batch's own framing, so a record we let through is one the broker takes.
MAX_RECORD_BYTES = 1_000_000


@dataclass(frozen=True)
class Record:
    """One Kafka record, as produced and as a consumer reads it back."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default=())

    @property
    def size(self) -> int:
        """Bytes of key, value and headers: what counts against the broker's limit."""
        return len(self.key) + len(self.value) + sum(len(k) + len(v) for k, v in self.headers)


def to_record(event: Envelope, topic: str) -> Record:
    """Keyed by customer key, so everything about one customer stays on one partition."""
    return Record(
        topic=topic,
        key=event.subject.encode(),
        value=encode(event),
        headers=(("content-type", CONTENT_TYPE.encode()),),
    )


class Publisher(ABC):
    """Contract: `send_records` returns only when every record is durably in Kafka, else
    raises a KafkaAdapterError: `Unavailable` (retriable; some records may have been
    written, but ids are deterministic, so a retry is harmless) or `RecordTooLarge` (not
    retriable; raised before anything is written)."""

    topic: str
    max_record_bytes: int = MAX_RECORD_BYTES

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect eagerly where possible; a failure here must not prevent serving."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Flush and disconnect."""

    async def send_records(self, records: Sequence[Record]) -> None:
        """Write every record, or raise a KafkaAdapterError."""
        for record in records:
            if record.size > self.max_record_bytes:
                raise RecordTooLarge(record.size, self.max_record_bytes)
        await self._write(records)

    @abstractmethod
    async def _write(self, records: Sequence[Record]) -> None:
        """Write records already checked against the size limit."""

    @abstractmethod
    async def ready(self) -> bool:
        """Can records be written right now?"""

    async def publish(self, events: Sequence[Envelope]) -> None:
        """Send events to this publisher's topic, keyed by customer key."""
        await self.send_records([to_record(e, self.topic) for e in events])


class KafkaPublisher(Publisher):
    """aiokafka producer with acks=all and idempotence, started lazily and restarted after
    a failure, so the API can come up (and answer 503) while Kafka is down."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = EVENTS,
        timeout: float = 10.0,
        max_record_bytes: int = MAX_RECORD_BYTES,
        auth: KafkaAuth = PLAINTEXT,
    ) -> None:
        self.bootstrap = bootstrap
        self.auth = auth
        self.topic = topic
        self.timeout = timeout
        self.max_record_bytes = max_record_bytes
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=1,
                    request_timeout_ms=int(self.timeout * 1000),
                    max_request_size=30 * 1024 * 1024,
                    **self.auth.aiokafka_options(),
                )
                try:
                    await asyncio.wait_for(producer.start(), self.timeout)
                except (KafkaError, OSError, TimeoutError) as exc:
                    await producer.stop()
                    # The address goes to the log, not into the error: clients see its text.
                    log.warning("Kafka at %s is not reachable: %r", self.bootstrap, exc)
                    raise Unavailable("Kafka is not reachable") from exc
                self._producer = producer
            return self._producer

    async def start(self) -> None:
        try:
            await self._ensure()
        except Unavailable as exc:
            log.warning("publisher not connected yet: %s", exc)

    async def stop(self) -> None:
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def _write(self, records: Sequence[Record]) -> None:
        producer = await self._ensure()
        try:
            futures = [
                await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers))
                for r in records
            ]
            await asyncio.wait_for(asyncio.gather(*futures), self.timeout)
        except MessageSizeTooLargeError as exc:
            # The topic's own limit may be lower than ours; the producer itself is fine.
            raise RecordTooLarge(max(r.size for r in records), None) from exc
        except (KafkaError, OSError, TimeoutError) as exc:
            # Drop the producer: the next call reconnects instead of reusing a broken one.
            await self.stop()
            log.warning("Kafka at %s did not acknowledge: %r", self.bootstrap, exc)
            raise Unavailable(
                f"Kafka did not acknowledge the records ({type(exc).__name__})"
            ) from exc

    async def ready(self) -> bool:
        try:
            producer = await self._ensure()
            await asyncio.wait_for(producer.client.force_metadata_update(), 3)
        except (KafkaAdapterError, KafkaError, OSError, TimeoutError):
            return False
        return True


class MemoryPublisher(Publisher):
    """In-memory adapter: records in `records`; while `down` is set every write raises
    Unavailable, as Kafka's adapter does when the broker is gone."""

    def __init__(self, topic: str = EVENTS, max_record_bytes: int = MAX_RECORD_BYTES) -> None:
        self.topic = topic
        self.max_record_bytes = max_record_bytes
        self.records: list[Record] = []
        self.down = False

    async def _write(self, records: Sequence[Record]) -> None:
        if self.down:
            raise Unavailable("Kafka is not reachable (memory publisher set down)")
        self.records.extend(records)

    async def ready(self) -> bool:
        return not self.down
