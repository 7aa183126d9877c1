"""How every Kafka client of this project connects: PLAINTEXT, or TLS with SCRAM-SHA-512.

One value (`KafkaAuth`) is resolved once from the settings for one process kind and turned
into the options of aiokafka producers, consumers and admin clients (`aiokafka_options`) and
of faust (`faust_options`), so no client can be built with other security than the rest.

Each process kind (api, worker, projector, tools) has its own Kafka user, so the broker's
ACLs can hold each to what it needs. When the username, password or CA file is not set, the
local secure stack's files are used (`contactmoment dev up --secure` writes them), as
`Settings.secret` does for the other secrets.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

ProcessKind = Literal["api", "worker", "projector", "tools"]
KINDS: tuple[ProcessKind, ...] = ("api", "worker", "projector", "tools")
MECHANISM = "SCRAM-SHA-512"


class KafkaAuthError(Exception):
    """The Kafka security settings cannot be used; the message names the variable."""


class KafkaSettings(Protocol):
    """The fields of services.settings.Settings this module reads (read-only)."""

    @property
    def kafka_security_protocol(self) -> str: ...
    @property
    def kafka_sasl_username(self) -> str | None: ...
    @property
    def kafka_sasl_password(self) -> str | None: ...
    @property
    def kafka_sasl_password_file(self) -> Path | None: ...
    @property
    def kafka_ca_file(self) -> Path | None: ...
    @property
    def local_dir(self) -> Path: ...


def local_tls_dir(local_dir: Path) -> Path:
    """Where `dev up --secure` keeps the CA and the broker's key and certificate."""
    return local_dir / "kafka" / "tls"


def local_password_file(local_dir: Path, user: str) -> Path:
    """Where `dev up --secure` keeps a SCRAM user's password (mode 600)."""
    return local_dir / "kafka" / "users" / user


@dataclass(frozen=True)
class KafkaAuth:
    """The security of one process's Kafka connections."""

    protocol: Literal["PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    @property
    def secure(self) -> bool:
        return self.protocol == "SASL_SSL"

    @classmethod
    def from_settings(cls, settings: KafkaSettings, kind: ProcessKind) -> KafkaAuth:
        """Resolve the settings for a process kind; KafkaAuthError names what is missing."""
        if settings.kafka_security_protocol == "PLAINTEXT":
            return PLAINTEXT
        if settings.kafka_security_protocol != "SASL_SSL":
            raise KafkaAuthError(
                "CONTACTMOMENT_KAFKA_SECURITY_PROTOCOL must be PLAINTEXT or SASL_SSL, not "
                f"{settings.kafka_security_protocol!r}"
            )
        username = settings.kafka_sasl_username or kind
        password = settings.kafka_sasl_password
        source = settings.kafka_sasl_password_file or local_password_file(
            settings.local_dir, username
        )
        if password is None:
            try:
                password = source.read_text().strip()
            except OSError:
                raise KafkaAuthError(
                    f"Kafka user {username!r} has no password: set "
                    "CONTACTMOMENT_KAFKA_SASL_PASSWORD or CONTACTMOMENT_KAFKA_SASL_PASSWORD_FILE "
                    f"({source} cannot be read)"
                ) from None
        if not password:
            raise KafkaAuthError(f"the password of Kafka user {username!r} is empty")
        local_ca = local_tls_dir(settings.local_dir) / "ca.pem"
        ca = settings.kafka_ca_file or (local_ca if local_ca.is_file() else None)
        return cls("SASL_SSL", username, password, ca)

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the broker's certificate and host name against the CA file (else the
        system's trust store); TLS 1.2 at least."""
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def aiokafka_options(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaAdminClient."""
        if not self.secure:
            return {"security_protocol": "PLAINTEXT"}
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
            "ssl_context": self.ssl_context(),
        }

    def faust_options(self) -> dict[str, Any]:
        """Keyword arguments for faust.App (its producer, consumers and admin alike)."""
        if not self.secure:
            return {}
        import faust  # only the worker needs faust; the other processes never import it

        return {
            "broker_credentials": faust.SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=self.ssl_context(),
                mechanism=MECHANISM,
            )
        }


PLAINTEXT = KafkaAuth()
