"""The local stack fails with errors a person can act on, before starting anything."""

import socket
from collections.abc import Iterator

import pytest

from services.dev import system
from services.dev.errors import StackError
from services.dev.kafka import LocalKafka
from services.dev.postgres import LocalPostgres
from services.ports import PortInUse
from services.settings import ConfigError, Settings


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_kafka_port_in_use_names_port_and_variable(occupied_port: int, tmp_path) -> None:
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{occupied_port}", local_dir=tmp_path)
    with pytest.raises(PortInUse) as exc:
        LocalKafka(settings).up(progress=lambda _: None)
    assert f"port {occupied_port}" in str(exc.value)
    assert "CONTACTMOMENT_KAFKA_BOOTSTRAP" in str(exc.value)
    assert not list((tmp_path / "kafka").glob("*-node/node-*/kafka.pid"))


def test_postgres_port_in_use_names_port_and_variable(occupied_port: int, tmp_path) -> None:
    settings = Settings(
        database_url=f"postgresql://contactmoment@127.0.0.1:{occupied_port}/contactmoment",
        local_dir=tmp_path,
    )
    with pytest.raises(PortInUse) as exc:
        LocalPostgres(settings).up(progress=lambda _: None)
    assert f"port {occupied_port}" in str(exc.value)
    assert "CONTACTMOMENT_DATABASE_URL" in str(exc.value)
    assert not (tmp_path / "pg").exists()


def test_a_port_in_use_is_a_configuration_error() -> None:
    """The command line prints ConfigError as a message (no traceback), for the stack and
    for every production process alike."""
    assert issubclass(PortInUse, ConfigError)


@pytest.mark.parametrize(
    ("require", "package"),
    [(system.require_java, "openjdk-17-jre-headless"), (system.require_maven, "maven")],
)
def test_missing_java_or_maven_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, require, package: str
) -> None:
    monkeypatch.setattr(system.shutil, "which", lambda _tool: None)
    monkeypatch.setattr(system, "can_apt_install", lambda: False)
    with pytest.raises(StackError) as exc:
        require()
    assert f"apt-get install {package}" in str(exc.value)


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\"' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setattr(system.shutil, "which", lambda _tool: str(fake))
    with pytest.raises(StackError, match="needs Java 17 or newer"):
        system.require_java()
