"""Configuration: contract defaults, and errors that name the variable."""

import pytest

from services.settings import ConfigError, load_settings


def test_contract_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP", "DATABASE_URL", "API_PORT", "TOPIC_PARTITIONS"):
        monkeypatch.delenv(f"CONTACTMOMENT_{name}", raising=False)
    settings = load_settings()
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.database_url == "postgresql://contactmoment@127.0.0.1:5432/contactmoment"
    assert settings.api_port == 8080
    assert settings.topic_partitions == 12
    assert settings.own_domains == frozenset({"bergenopzoom.nl"})
    assert (settings.database.host, settings.database.port) == ("127.0.0.1", 5432)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CONTACTMOMENT_API_PORT", "eighty", "CONTACTMOMENT_API_PORT"),
        ("CONTACTMOMENT_API_PORT", "70000", "CONTACTMOMENT_API_PORT"),
        ("CONTACTMOMENT_KAFKA_BOOTSTRAP", "localhost", "expected host:port"),
        ("CONTACTMOMENT_DATABASE_URL", "mysql://x@y/z", "expected postgresql://"),
        ("CONTACTMOMENT_TOPIC_PARTITIONS", "0", "CONTACTMOMENT_TOPIC_PARTITIONS"),
        ("CONTACTMOMENT_PSEUDONYM_KEY", "short", "at least 16 characters"),
        ("CONTACTMOMENT_DEPARTMENTS", "Zorg," + "x" * 101, "at most 100 characters"),
    ],
)
def test_invalid_configuration_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert says in str(exc.value)
    assert variable in str(exc.value)


def test_missing_secret_says_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    monkeypatch.delenv("CONTACTMOMENT_API_TOKEN", raising=False)
    monkeypatch.setenv("CONTACTMOMENT_LOCAL_DIR", str(tmp_path))
    settings = load_settings()
    with pytest.raises(ConfigError, match="CONTACTMOMENT_API_TOKEN is not set"):
        settings.secret("api-token")
    settings.ensure_secrets()
    token = settings.secret("api-token")
    assert len(token) >= 32
    settings.ensure_secrets()
    assert settings.secret("api-token") == token  # generated once, then kept
