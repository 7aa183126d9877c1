"""Small helpers for tests on the real broker: private topics and reading them back."""

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.envelope import decode
from services.kafka.topics import partition_counts


async def create_topic(bootstrap: str, name: str, partitions: int = 3) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def read_all(
    bootstrap: str, topic: str, expect: int = 0, timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` up to its end, waiting (up to `timeout`) for `expect`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        records = await _read_to_end(bootstrap, topic)
        if len(records) >= expect or loop.time() > deadline:
            return records
        await asyncio.sleep(0.3)


async def _read_to_end(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    counts = await partition_counts(bootstrap, [topic])
    partitions = [TopicPartition(topic, p) for p in range(counts.get(topic, 0))]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, part in batch.items():
                records += [r for r in part if r.offset < ends[tp]]
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return records


class TopicTail:
    """Reads what arrives on a topic after the moment it was created."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.topic = topic

    async def __aenter__(self) -> "TopicTail":
        await self.consumer.start()
        partitions = [
            TopicPartition(self.topic, p)
            for p in self.consumer.partitions_for_topic(self.topic) or []
        ]
        if not partitions:
            await self.consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(self.topic, p)
                for p in self.consumer.partitions_for_topic(self.topic) or []
            ]
        self.consumer.assign(partitions)
        ends = await self.consumer.end_offsets(partitions)
        for tp, offset in ends.items():
            self.consumer.seek(tp, offset)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def until(
        self, ids: set[str], timeout: float = 20.0
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """Records until every id in `ids` was seen (plus any that arrive with them)."""
        found: list[ConsumerRecord[bytes, bytes]] = []
        seen: set[str] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ids <= seen and loop.time() < deadline:
            for batch in (await self.consumer.getmany(timeout_ms=300)).values():
                for record in batch:
                    found.append(record)
                    seen.add(decode(record.value).id)
        assert ids <= seen, f"missing on {self.topic}: {ids - seen}"
        return found
