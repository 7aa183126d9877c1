"""Dead letters: a record no consumer can use goes to contact.deadletter.v1, never lost.

The original key and bytes are kept as they were; headers say why and who rejected it, and
where it came from, so a person can fix and replay it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from schemas.envelope import Envelope, InvalidEvent, decode
from schemas.topics import DEADLETTER
from services.kafka.errors import KafkaAdapterError, RecordTooLarge
from services.kafka.publisher import Publisher, Record
from services.metrics import DEADLETTERS

log = logging.getLogger(__name__)

MAX_REASON = 2000
ATTEMPTS = 5  # a consumer that cannot dead-letter stops; a short outage should not stop it


@dataclass(frozen=True)
class Consumed:
    """A record as a consumer read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


def dead_letter_headers(
    consumed: Consumed, reason: str, source: str
) -> tuple[tuple[str, bytes], ...]:
    """The record's own headers (earlier error.* replaced) plus why, who and where from:
    the one place dead-letter headers are built, for the worker and every other consumer."""
    return (
        *[(k, v) for k, v in consumed.headers if not k.startswith("error.")],
        ("error.reason", reason[:MAX_REASON].encode()),
        ("error.source", source.encode()),
        ("error.origin", f"{consumed.topic}[{consumed.partition}]@{consumed.offset}".encode()),
    )


def dead_letter_record(
    consumed: Consumed, reason: str, source: str, topic: str = DEADLETTER
) -> Record:
    """The consumed record, unchanged, on the dead-letter topic with the error headers."""
    headers = dead_letter_headers(consumed, reason, source)
    return Record(topic, consumed.key or b"", consumed.value or b"", headers)


def without_value(record: Record, why: str) -> Record:
    """The dead letter without the original bytes, saying why they are not there."""
    return replace(
        record, value=b"", headers=(*record.headers, ("error.value-omitted", why.encode()))
    )


class DeadLetters:
    """Decodes consumed records; what does not decode is published to the dead-letter topic."""

    def __init__(self, publisher: Publisher, source: str, topic: str = DEADLETTER) -> None:
        self.publisher = publisher
        self.source = source
        self.topic = topic

    async def reject(self, consumed: Consumed, reason: str) -> None:
        """Publish the dead letter; retriable failures are retried a few times, then raised."""
        record = dead_letter_record(consumed, reason, self.source, self.topic)
        attempt = 0
        while True:
            try:
                await self.publisher.send_records([record])
                break
            except RecordTooLarge as exc:
                if not record.value:
                    raise
                # The original fitted, our headers pushed it over: keep the headers, drop
                # the value; error.origin says where the original bytes still are.
                record = without_value(record, str(exc))
            except KafkaAdapterError as exc:
                attempt += 1
                if not exc.retriable or attempt == ATTEMPTS:
                    raise
                log.warning("dead letter not stored (%s); attempt %d of %d", exc, attempt, ATTEMPTS)
                await asyncio.sleep(min(exc.retry_after or 1, 5))
        DEADLETTERS.labels(self.source).inc()

    async def decode(self, consumed: Consumed) -> Envelope | None:
        """The event, or None after the record went to the dead-letter topic."""
        try:
            return decode(consumed.value or b"")
        except InvalidEvent as exc:
            await self.reject(consumed, exc.reason)
            return None
