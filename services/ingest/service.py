"""The ingest use case shared by HTTP and SMTP: publish a mapped call, count the outcome."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.envelope import Envelope
from schemas.events import Channel
from schemas.keys import Pseudonymiser
from services.ingest.common import Mapped
from services.kafka.publisher import Publisher, Record, to_record
from services.metrics import INGEST, INGEST_EVENTS
from services.privacy.sealer import Sealer
from services.privacy.sealing import LooksSealed, sealed_input

RECENT_IDS = 100_000


@dataclass(frozen=True)
class ItemRefused:
    """An item of a batch that was not stored, and why (`field`: its own field path)."""

    status: int  # 422 invalid, 413 over Kafka's record limit
    field: str
    problem: str


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

    async def accept_batch(
        self, channel: Channel, items: Mapping[int, Mapped]
    ) -> dict[int, dict[str, object] | ItemRefused]:
        """Each item's answer by its index: the 202 body of a single call (with
        `duplicate` for ids this process stored before, or an earlier item of the same
        batch had), or ItemRefused for an item whose text looks sealed or whose record is
        over Kafka's limit. All other items are sealed together (one key-store round trip)
        and sent together; this returns only once Kafka acknowledged every one of them.
        Raises SealingUnavailable or KafkaAdapterError as `accept` does: then none of the
        batch counts as stored, and the whole batch may be retried."""
        answers: dict[int, dict[str, object] | ItemRefused] = {}
        fresh: dict[int, Mapped] = {}
        seen: set[str] = set()
        for index, mapped in items.items():
            ids = [e.id for e in mapped.events]
            if all(i in self._recent or i in seen for i in ids):
                INGEST.labels(channel.value, "duplicate").inc()
                answers[index] = {
                    "ids": ids,
                    "customer_key": mapped.customer_key,
                    "duplicate": True,
                }
                continue
            try:
                refuse_sealed_input(mapped.events)
            except LooksSealed as exc:
                self.rejected(channel)
                answers[index] = ItemRefused(422, exc.field, "looks like sealed text (enc:v…)")
                continue
            seen.update(ids)
            fresh[index] = mapped
        try:
            sealed = await self.sealer.seal([e for m in fresh.values() for e in m.events])
        except Exception:
            INGEST.labels(channel.value, "unavailable").inc(len(fresh))
            raise
        records: list[Record] = []
        position = 0
        limit = self.publisher.max_record_bytes
        for index, mapped in list(fresh.items()):
            mine = [
                to_record(e, self.publisher.topic)
                for e in sealed[position : position + len(mapped.events)]
            ]
            position += len(mapped.events)
            biggest = max((r.size for r in mine), default=0)
            if biggest > limit:
                del fresh[index]
                self.rejected(channel)
                answers[index] = ItemRefused(
                    413,
                    "body",
                    f"an event of this item is {biggest} bytes, over Kafka's record limit of "
                    f"{limit} bytes; shorten its free text",
                )
                continue
            records.extend(mine)
        try:
            if records:
                await self.publisher.send_records(records)
        except Exception:
            INGEST.labels(channel.value, "unavailable").inc(len(fresh))
            raise
        for index, mapped in fresh.items():
            for event in mapped.events:
                INGEST_EVENTS.labels(channel.value, event.type.value).inc()
                self._recent[event.id] = None
            answers[index] = {
                "ids": [e.id for e in mapped.events],
                "customer_key": mapped.customer_key,
            }
        if fresh:
            INGEST.labels(channel.value, "accepted").inc(len(fresh))
        while len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
        return answers

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
