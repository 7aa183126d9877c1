"""Kafka client security settings: validated once, one set of options for every client."""

from pathlib import Path

import pytest

from services.kafka.client import PLAINTEXT, KafkaAuth, KafkaAuthError, local_password_file
from services.settings import ConfigError, Settings, load_settings


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(local_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_plaintext_is_the_default_and_needs_nothing(tmp_path: Path) -> None:
    auth = KafkaAuth.from_settings(settings(tmp_path), "api")
    assert auth == PLAINTEXT
    assert auth.aiokafka_options() == {"security_protocol": "PLAINTEXT"}
    assert auth.faust_options() == {}


def test_sasl_ssl_options_for_aiokafka_and_faust(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(_self_signed_ca())
    auth = KafkaAuth.from_settings(
        settings(
            tmp_path,
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_username="cm-api",
            kafka_sasl_password="s3cret-s3cret",
            kafka_ca_file=ca,
        ),
        "api",
    )
    options = auth.aiokafka_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "cm-api",
        "s3cret-s3cret",
    )
    assert options["ssl_context"].check_hostname
    credentials = auth.faust_options()["broker_credentials"]
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert "s3cret" not in repr(auth) and "s3cret" not in repr(credentials)


def test_each_process_kind_is_its_own_user_from_the_local_files(tmp_path: Path) -> None:
    for user in ("api", "projector"):
        path = local_password_file(tmp_path, user)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"pw-of-{user}\n")
    s = settings(tmp_path, kafka_security_protocol="SASL_SSL")
    assert KafkaAuth.from_settings(s, "api").password == "pw-of-api"
    assert KafkaAuth.from_settings(s, "projector").username == "projector"
    with pytest.raises(KafkaAuthError, match="CONTACTMOMENT_KAFKA_SASL_PASSWORD"):
        KafkaAuth.from_settings(s, "worker")


def test_a_password_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-a-file\n")
    s = settings(
        tmp_path,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="u",
        kafka_sasl_password_file=secret,
    )
    assert KafkaAuth.from_settings(s, "tools").password == "from-a-file"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONTACTMOMENT_KAFKA_SECURITY_PROTOCOL": "SSL"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"CONTACTMOMENT_KAFKA_SASL_USERNAME": "api"}, "is PLAINTEXT: set it to SASL_SSL"),
        ({"CONTACTMOMENT_KAFKA_CA_FILE": "/nonexistent/ca.pem"}, "KAFKA_CA_FILE"),
        (
            {
                "CONTACTMOMENT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "CONTACTMOMENT_KAFKA_SASL_PASSWORD": "a",
                "CONTACTMOMENT_KAFKA_SASL_PASSWORD_FILE": "/etc/hostname",
            },
            "not both",
        ),
        ({"CONTACTMOMENT_API_DATABASE_URL": "mysql://x"}, "API_DATABASE_URL"),
    ],
)
def test_bad_security_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_each_process_kind_has_its_database_url_defaulting_to_the_owners(tmp_path: Path) -> None:
    owner = "postgresql://owner@db:5432/cm"
    s = settings(tmp_path, database_url=owner, api_database_url="postgresql://api@db:5432/cm")
    assert s.database_url_for("api") == "postgresql://api@db:5432/cm"
    assert s.database_url_for("projector") == owner
    assert s.database_url_for("privacy") == owner


def _self_signed_ca() -> str:
    import tempfile

    from services.dev.kafka_tls import ensure_tls

    with tempfile.TemporaryDirectory() as directory:
        return ensure_tls(Path(directory)).ca.read_text()
