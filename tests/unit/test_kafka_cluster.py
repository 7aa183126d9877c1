"""The local Kafka cluster's layout: ports, voters and replication per cluster size."""

import re
from pathlib import Path

import pytest

from services.dev.errors import StackError
from services.dev.kafka import LocalKafka, node_ports
from services.kafka.topics import replication_for
from services.settings import Settings


def test_three_nodes_take_every_second_port_from_the_first(tmp_path: Path) -> None:
    settings = Settings(
        kafka_bootstrap="127.0.0.1:9092", kafka_controller_port=9093, local_dir=tmp_path
    )
    assert node_ports(settings, 3) == [(9092, 9093), (9094, 9095), (9096, 9097)]
    assert LocalKafka(settings, 3).bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"


def test_a_bootstrap_list_naming_every_node_fixes_their_ports(tmp_path: Path) -> None:
    settings = Settings(
        kafka_bootstrap="127.0.0.1:19000,127.0.0.1:19010,127.0.0.1:19020",
        kafka_controller_port=29000,
        local_dir=tmp_path,
    )
    assert node_ports(settings, 3) == [(19000, 29000), (19010, 29002), (19020, 29004)]


def test_node_configs_share_the_voters_and_replicate_three_times(tmp_path: Path) -> None:
    settings = Settings(
        kafka_bootstrap="127.0.0.1:9092", kafka_controller_port=9093, local_dir=tmp_path
    )
    kafka = LocalKafka(settings, 3)
    for node in kafka.nodes:
        kafka._write_config(node)
    texts = [n.config.read_text() for n in kafka.nodes]
    voters = "controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    assert all(voters in text for text in texts)
    assert [f"node.id={n}" in t for n, t in zip((1, 2, 3), texts, strict=True)] == [True] * 3
    assert "listeners=PLAINTEXT://127.0.0.1:9094," in texts[1]
    assert all("min.insync.replicas=2\n" in t and "factor=3\n" in t for t in texts)
    assert not [t for t in texts if re.search(r"@[A-Z_]+@", t)]  # no placeholder left
    dirs = {n.data for n in kafka.nodes}
    assert len(dirs) == 3 and all("3-node" in str(d) for d in dirs)


def test_one_node_replicates_once(tmp_path: Path) -> None:
    kafka = LocalKafka(Settings(local_dir=tmp_path), 1)
    kafka._write_config(kafka.nodes[0])
    text = kafka.nodes[0].config.read_text()
    assert "min.insync.replicas=1\n" in text and "offsets.topic.replication.factor=1\n" in text


def test_the_size_started_last_is_remembered(tmp_path: Path) -> None:
    settings = Settings(local_dir=tmp_path)
    assert LocalKafka(settings).brokers == 1
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "brokers").write_text("3\n")
    assert LocalKafka(settings).brokers == 3


def test_other_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="1 or 3 brokers"):
        LocalKafka(Settings(local_dir=tmp_path), 2)


@pytest.mark.parametrize(
    ("brokers", "expected"), [(1, (1, 1)), (2, (2, 2)), (3, (3, 2)), (5, (3, 2))]
)
def test_replication_follows_the_cluster(brokers: int, expected: tuple[int, int]) -> None:
    assert replication_for(brokers) == expected
