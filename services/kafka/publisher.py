"""The publishing port: hand events to Kafka and return only once Kafka has them all.

`KafkaPublisher` is the real adapter (acks=all, idempotent producer); `MemoryPublisher`
keeps records in a list for tests of the HTTP edge. Both pass the same contract tests.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.envelope import CONTENT_TYPE, Envelope, encode
from schemas.topics import EVENTS

log = logging.getLogger(__name__)


class PublishError(Exception):
    """Kafka did not acknowledge every event; nothing may be reported as accepted."""

    retriable = True

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default=())


def to_record(event: Envelope, topic: str) -> Record:
    """Keyed by customer key, so everything about one customer stays on one partition."""
    return Record(
        topic=topic,
        key=event.subject.encode(),
        value=encode(event),
        headers=(("content-type", CONTENT_TYPE.encode()),),
    )


class Publisher(ABC):
    """Contract: `publish` returns only when every record is durably in Kafka, else raises
    PublishError (some records may have been written: ids are deterministic, so a retry
    is harmless)."""

    topic: str

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect eagerly where possible; a failure here must not prevent serving."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Flush and disconnect."""

    @abstractmethod
    async def send_records(self, records: Sequence[Record]) -> None: ...

    @abstractmethod
    async def ready(self) -> bool:
        """Can records be written right now?"""

    async def publish(self, events: Sequence[Envelope]) -> None:
        await self.send_records([to_record(e, self.topic) for e in events])


class KafkaPublisher(Publisher):
    """aiokafka producer with acks=all and idempotence, started lazily and restarted after
    a failure, so the API can come up (and answer 503) while Kafka is down."""

    def __init__(self, bootstrap: str, topic: str = EVENTS, timeout: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout = timeout
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
                )
                try:
                    await asyncio.wait_for(producer.start(), self.timeout)
                except (KafkaError, OSError, TimeoutError) as exc:
                    await producer.stop()
                    raise PublishError(
                        f"Kafka at {self.bootstrap} is not reachable: {exc!r}"
                    ) from exc
                self._producer = producer
            return self._producer

    async def start(self) -> None:
        try:
            await self._ensure()
        except PublishError as exc:
            log.warning("publisher not connected yet: %s", exc)

    async def stop(self) -> None:
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def send_records(self, records: Sequence[Record]) -> None:
        producer = await self._ensure()
        try:
            futures = [
                await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers))
                for r in records
            ]
            await asyncio.wait_for(asyncio.gather(*futures), self.timeout)
        except (KafkaError, OSError, TimeoutError) as exc:
            # Drop the producer: the next call reconnects instead of reusing a broken one.
            await self.stop()
            raise PublishError(f"Kafka did not acknowledge the events: {exc!r}") from exc

    async def ready(self) -> bool:
        try:
            producer = await self._ensure()
            await asyncio.wait_for(producer.client.force_metadata_update(), 3)
        except (PublishError, KafkaError, OSError, TimeoutError):
            return False
        return True


class MemoryPublisher(Publisher):
    """In-memory adapter: records in `records`; `fail` makes the next calls raise."""

    def __init__(self, topic: str = EVENTS) -> None:
        self.topic = topic
        self.records: list[Record] = []
        self.fail = False

    async def send_records(self, records: Sequence[Record]) -> None:
        if self.fail:
            raise PublishError("memory publisher set to fail")
        self.records.extend(records)

    async def ready(self) -> bool:
        return not self.fail
