"""The ingest use case shared by HTTP and SMTP: publish a mapped call, count the outcome."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from schemas.envelope import Envelope
from schemas.events import Channel
from schemas.keys import Pseudonymiser
from services.ingest.common import Mapped
from services.kafka.publisher import Publisher
from services.metrics import INGEST, INGEST_EVENTS
from services.privacy.sealer import Sealer
from services.privacy.sealing import LooksSealed, sealed_input

RECENT_IDS = 100_000


class Ingest:
    """Publishes the events of one ingest call and returns only once Kafka has them all."""

    def __init__(
        self,
        publisher: Publisher,
        pseudonyms: Pseudonymiser,
        own_domains: frozenset[str],
        sealer: Sealer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.publisher = publisher
        self.sealer = sealer
        self.pseudonyms = pseudonyms
        self.own_domains = own_domains
        self.clock = clock
        # Ids this process saw Kafka acknowledge: a retried call is answered from here and
        # counted as a duplicate (other processes' retries are caught downstream by id).
        self._recent: OrderedDict[str, None] = OrderedDict()

    async def accept(self, channel: Channel, mapped: Mapped) -> dict[str, object]:
        """202 body for the call. Raises SealingUnavailable when the key store is out and
        KafkaAdapterError when Kafka did not take every event: either way nothing was
        stored, and the error's `retriable` says whether the same call may be retried."""
        ids = [e.id for e in mapped.events]
        if all(i in self._recent for i in ids):
            INGEST.labels(channel.value, "duplicate").inc()
            for i in ids:
                self._recent.move_to_end(i)
            return {"ids": ids, "customer_key": mapped.customer_key, "duplicate": True}
        try:
            refuse_sealed_input(mapped.events)
        except LooksSealed:
            self.rejected(channel)
            raise
        try:
            await self.publish(mapped.events)
        except Exception:
            INGEST.labels(channel.value, "unavailable").inc()
            raise
        for event in mapped.events:
            INGEST_EVENTS.labels(channel.value, event.type.value).inc()
            self._recent[event.id] = None
        while len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
        INGEST.labels(channel.value, "accepted").inc()
        return {"ids": ids, "customer_key": mapped.customer_key}

    async def publish(self, events: Sequence[Envelope]) -> None:
        """Seal the personal text, then publish; either failing means nothing was stored.
        Each keeps its own error, so a key-store outage is not reported as Kafka's.
        Raises LooksSealed (→ 422) when a caller's text already looks sealed."""
        refuse_sealed_input(events)
        sealed = await self.sealer.seal(events)
        await self.publisher.publish(sealed)

    def rejected(self, channel: Channel) -> None:
        """Count a call refused for its input (it never reached Kafka)."""
        INGEST.labels(channel.value, "rejected").inc()


def refuse_sealed_input(events: Sequence[Envelope]) -> None:
    """Raise LooksSealed naming the first personal field of a new event whose text looks
    sealed: the sealer leaves sealed values as they are, so a value copied from a topic
    would otherwise travel on, and open, as this customer's text (every channel, SMTP
    and staff actions alike come through here)."""
    for event in events:
        field = sealed_input(event)
        if field is not None:
            raise LooksSealed(field)
