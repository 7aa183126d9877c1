"""The offsets a batch commits: per partition, one past its last record, whatever order
the records came in (the consumer may have fetched further: that is not committed)."""

from aiokafka import ConsumerRecord, TopicPartition

from services.projector.run import next_offsets


def record(topic: str, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"v", None, 1, 1, ())


def test_one_past_the_last_record_of_each_partition() -> None:
    records = [record("t", 0, 7), record("t", 1, 3), record("t", 0, 5), record("u", 0, 0)]
    assert next_offsets(records) == {
        TopicPartition("t", 0): 8,
        TopicPartition("t", 1): 4,
        TopicPartition("u", 0): 1,
    }


def test_an_empty_batch_commits_nothing() -> None:
    assert next_offsets([]) == {}
