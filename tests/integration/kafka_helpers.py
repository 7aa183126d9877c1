"""Small helpers for tests on the real broker: private topics and reading them back."""

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.topics import partition_counts


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
