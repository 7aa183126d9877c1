"""Integration and end-to-end tests talk to the real local stack (`make test` starts it).
They fail, never skip, when it is not reachable: a green run means the real broker and
database ran."""

import uuid

import pytest

from services.ports import port_open
from services.settings import Settings, load_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    settings = load_settings()
    missing = [
        f"{name} at {host}:{port}"
        for name, host, port in (
            ("Kafka", settings.kafka_host, settings.kafka_port),
            ("PostgreSQL", settings.database.host, settings.database.port),
        )
        if not port_open(host, port)
    ]
    if missing:
        pytest.fail(
            f"the local stack is not running ({', '.join(missing)}); "
            "run `make up` (or `make test`, which starts it)",
            pytrace=False,
        )
    return settings


@pytest.fixture
def unique() -> str:
    """A fresh suffix for topic, group and table names, so tests never share state."""
    return uuid.uuid4().hex[:12]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "tests/integration/" in path or "tests/e2e/" in path:
            item.add_marker(pytest.mark.integration)
