"""`contactmoment topics create`: the topics schemas/topics.py declares, idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from schemas.topics import TOPICS, TopicSpec
from services.kafka.client import PLAINTEXT, KafkaAuth
from services.kafka.errors import KafkaAdapterError


class TopicError(KafkaAdapterError):
    """The broker refused to create a topic; the message carries its reason."""

    retriable = False  # a refusal (bad config, no rights) repeats until someone changes it
    retry_after = None


@dataclass(frozen=True)
class TopicResult:
    name: str
    state: str  # created | exists
    partitions: int
    note: str = ""
    replicas: int = 1


def replication_for(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) for a cluster of `brokers`: three copies
    with two in sync when there are three brokers, so one may fail without refusing an
    acks=all write and without a write living on one disk only."""
    factor = min(3, brokers)
    return factor, min(2, factor)


async def create_topics(
    bootstrap: str,
    partitions: int,
    specs: tuple[TopicSpec, ...] = TOPICS,
    auth: KafkaAuth = PLAINTEXT,
) -> list[TopicResult]:
    """Create each missing topic; report existing ones (and a partition-count mismatch)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **auth.aiokafka_options()
    )
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        factor, min_isr = replication_for(len(cluster.get("brokers") or [None]))
        existing = await _partition_counts(admin, [s.name for s in specs])
        results = []
        for spec in specs:
            if spec.name in existing:
                have = existing[spec.name]
                note = (
                    f"has {have} partitions, config asks {partitions}: partitions are fixed at "
                    "creation, so this topic keeps its count"
                    if have != partitions
                    else ""
                )
                results.append(TopicResult(spec.name, "exists", have, note))
                continue
            try:
                configs = {"min.insync.replicas": str(min_isr), **spec.configs}
                response = await admin.create_topics(
                    [NewTopic(spec.name, partitions, factor, topic_configs=configs)]
                )
            except TopicAlreadyExistsError:  # created concurrently by someone else
                results.append(TopicResult(spec.name, "exists", partitions))
                continue
            # aiokafka reports per-topic failures in the response instead of raising.
            for _name, code, *message in response.topic_errors:
                if code == TopicAlreadyExistsError.errno:
                    results.append(TopicResult(spec.name, "exists", partitions))
                elif code:
                    detail = message[0] if message and message[0] else for_code(code).__name__
                    raise TopicError(f"creating {spec.name} failed: {detail}")
                else:
                    results.append(TopicResult(spec.name, "created", partitions, "", factor))
        return results
    finally:
        await admin.close()


async def partition_counts(
    bootstrap: str, names: list[str], auth: KafkaAuth = PLAINTEXT
) -> dict[str, int]:
    """Partitions per existing topic among `names` (missing topics are left out)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **auth.aiokafka_options()
    )
    await admin.start()
    try:
        return await _partition_counts(admin, names)
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    listed = set(await admin.list_topics())
    wanted = [n for n in names if n in listed]
    if not wanted:
        return {}
    described = {t["topic"]: t for t in await admin.describe_topics(wanted)}
    # A topic whose leaders are still being elected describes with an error but exists.
    return {n: len(described.get(n, {}).get("partitions") or []) for n in wanted}
