"""Configuration from CONTACTMOMENT_* environment variables, validated once (docs/deployment.md)."""

from __future__ import annotations

import os
import secrets
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout root: `.local/` (stack data, generated secrets) lives beside pyproject.toml.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPARTMENT_MAX = 100  # characters: a department name on the pages, in a filter or a callback


class ConfigError(Exception):
    """The configuration cannot be used; the message says which variable and why."""


class Settings(BaseSettings):
    """Runtime configuration; every field maps to CONTACTMOMENT_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="CONTACTMOMENT_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_controller_port: int = Field(9093, ge=1, le=65535)
    # Kafka client security (services/kafka/client.py): PLAINTEXT, or TLS plus SCRAM-SHA-512.
    # Unset username/password/CA fall back to the local secure stack's files (`dev up --secure`).
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_sasl_password_file: Path | None = None
    kafka_ca_file: Path | None = None
    # The owner's URL: migrations, replay, and every process without its own URL below.
    database_url: str = "postgresql://contactmoment@127.0.0.1:5432/contactmoment"
    # One least-privileged role per process kind (0005_roles.sql); each defaults to the above.
    api_database_url: str | None = None
    projector_database_url: str | None = None
    privacy_database_url: str | None = None
    # Every server binds here. Loopback by default; a container image sets 0.0.0.0 so its
    # platform can route and probe it (deploy/container/).
    bind_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    smtp_port: int = Field(2525, ge=1, le=65535)
    # API processes sharing api_port (`contactmoment api --workers`); one serves SMTP.
    api_workers: int = Field(1, ge=1, le=64)
    worker_metrics_port: int = Field(9102, ge=1, le=65535)
    projector_metrics_port: int = Field(9101, ge=1, le=65535)
    api_token: str | None = None
    # The static API token is for development only; production uses JWTs from the issuer.
    allow_static_token: bool = False
    jwt_issuer: str | None = None
    jwt_jwks: str | None = None  # a JWKS file path or https URL
    jwt_audience: str = "contactmoment"
    resident_audience: str = "contactmoment-mijn"
    # Sites that may post a resident token to /ui/mijn/login (the portal), comma-separated
    # origins such as https://mijn.bergenopzoom.nl; a post from any other site is refused.
    portal_origins: str = ""
    # The page cookies are `Secure` with the `__Host-` prefix; `make run` and the test
    # harness set this for plain http on localhost (a browser drops Secure cookies there).
    insecure_cookies: bool = False
    # The origin browsers reach the pages at (https://contact.example.nl), when a proxy in
    # front changes the scheme or host; posts to /ui must come from it. Default: the
    # scheme and Host of the request itself.
    public_origin: str = ""
    pseudonym_key: str | None = None
    master_key: str | None = None  # wraps the per-customer data keys (services/privacy/)
    text_retention_days: int = Field(730, ge=1, le=36500)
    processing_activities: Path = PROJECT_ROOT / "deploy" / "config" / "processing-activities.toml"
    service_norms: Path = PROJECT_ROOT / "deploy" / "config" / "service-norms.toml"
    topic_partitions: int = Field(12, ge=1, le=1000)
    own_email_domains: str = "bergenopzoom.nl"
    # The departments a callback can go to, comma-separated, exactly as the staff tokens
    # name them: the staff pages offer them as a list (a typed name that matches no token
    # would send a callback where nobody sees it). Unset: a department is typed.
    departments: str = ""
    local_dir: Path = PROJECT_ROOT / ".local"
    max_json_bytes: int = Field(1024 * 1024, ge=1024)
    max_email_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    # POST /v1/ingest/<channel>/batch: at most this many records and bytes per call.
    ingest_batch_max_items: int = Field(1000, ge=1, le=100_000)
    max_batch_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    # Refused before any work (services/api/limits.py): deeper JSON, more attempts per caller.
    max_json_depth: int = Field(32, ge=4, le=512)
    login_attempts_per_minute: int = Field(10, ge=1, le=100_000)
    searches_per_minute: int = Field(60, ge=1, le=100_000)
    # POST /v1/customers/search returns at most this many customers (the most recent first)
    # and says when there are more; an identifier carried by more than
    # `shared_identifier_threshold` BSN/KvK customers is marked shared in the summary.
    search_limit: int = Field(20, ge=1, le=500)
    shared_identifier_threshold: int = Field(5, ge=1, le=1_000_000)
    # E-mail, checked before a parse (services/ingest/mail_limits.py), parsed in worker
    # processes under a deadline; the Date header is believed only this close to receipt.
    email_max_header_bytes: int = Field(64 * 1024, ge=1024)
    email_max_recipients: int = Field(100, ge=1)
    email_max_parts: int = Field(100, ge=1)
    email_max_depth: int = Field(10, ge=1, le=100)
    email_parse_timeout_seconds: float = Field(10.0, gt=0, le=300)
    email_parse_workers: int = Field(2, ge=1, le=32)
    email_date_skew_seconds: int = Field(86_400, ge=0)
    # SMTP ingress: AUTH against a file of scrypt-hashed passwords, over TLS (STARTTLS, or
    # implicit TLS when set); the API refuses to start SMTP without all three files.
    smtp_users_file: Path | None = None
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    smtp_implicit_tls: bool = False
    smtp_max_sessions: int = Field(20, ge=1, le=10_000)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_is_host_port(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port…], got {value!r}")
        return value

    @field_validator(
        "database_url", "api_database_url", "projector_database_url", "privacy_database_url"
    )
    @classmethod
    def _database_url_is_postgres(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
            # Not the value itself: a URL can carry a password.
            raise ValueError(
                "expected postgresql://user@host:port/db, got scheme "
                f"{parts.scheme!r} and host {parts.hostname!r}"
            )
        return value

    @field_validator("departments")
    @classmethod
    def _departments_are_short(cls, value: str) -> str:
        long = [d for d in _listed(value) if len(d) > DEPARTMENT_MAX]
        if long:
            raise ValueError(f"at most {DEPARTMENT_MAX} characters a name: {long[0]!r} is longer")
        return value

    @field_validator("pseudonym_key", "master_key")
    @classmethod
    def _key_is_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("must be at least 16 characters of secret key material")
        return value

    @field_validator(
        "api_database_url", "projector_database_url", "privacy_database_url", mode="before"
    )
    @classmethod
    def _empty_url_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # compose's ${…:-}: the owner's URL

    @field_validator("kafka_sasl_password_file", "kafka_ca_file")
    @classmethod
    def _file_is_readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _kafka_security_is_whole(self) -> Settings:
        sasl = self.kafka_security_protocol == "SASL_SSL"
        if not sasl and (self.kafka_sasl_username or self.kafka_sasl_password):
            raise ValueError(
                "CONTACTMOMENT_KAFKA_SASL_USERNAME/PASSWORD are set but "
                "CONTACTMOMENT_KAFKA_SECURITY_PROTOCOL is PLAINTEXT: set it to SASL_SSL"
            )
        if self.kafka_sasl_password and self.kafka_sasl_password_file:
            raise ValueError(
                "set one of CONTACTMOMENT_KAFKA_SASL_PASSWORD and "
                "CONTACTMOMENT_KAFKA_SASL_PASSWORD_FILE, not both"
            )
        return self

    # -- derived values -------------------------------------------------------------------

    def database_url_for(self, kind: Literal["api", "projector", "privacy"]) -> str:
        """The URL a process kind connects with: its own role's, else the owner's."""
        own = {
            "api": self.api_database_url,
            "projector": self.projector_database_url,
            "privacy": self.privacy_database_url,
        }[kind]
        return own or self.database_url

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap.split(",")[0].rpartition(":")[2])

    @property
    def kafka_host(self) -> str:
        return self.kafka_bootstrap.split(",")[0].rpartition(":")[0]

    @cached_property
    def database(self) -> DatabaseTarget:
        return DatabaseTarget.parse(self.database_url)

    @property
    def portals(self) -> frozenset[str]:
        return frozenset(o.rstrip("/") for o in _listed(self.portal_origins))

    @property
    def department_choices(self) -> tuple[str, ...]:
        """The configured departments, in the order given, each once."""
        return tuple(dict.fromkeys(_listed(self.departments)))

    @property
    def own_domains(self) -> frozenset[str]:
        return frozenset(d.lower() for d in _listed(self.own_email_domains))

    def secret(self, name: str) -> str:
        """A secret (api token, pseudonym or master key): the environment, else `.local/<name>`."""
        value = {
            "api-token": self.api_token,
            "pseudonym-key": self.pseudonym_key,
            "master-key": self.master_key,
        }[name]
        if value:
            return value
        path = self.local_dir / name
        if path.exists():
            return path.read_text().strip()
        raise ConfigError(
            f"CONTACTMOMENT_{name.upper().replace('-', '_')} is not set and {path} does not "
            "exist; set the variable, or run `contactmoment dev secrets` (make run does)."
        )

    def ensure_secrets(self) -> dict[str, Path]:
        """Generate `.local/api-token`, `pseudonym-key`, `master-key` once, for the local stack."""
        self.local_dir.mkdir(parents=True, exist_ok=True)
        written = {}
        for name in ("api-token", "pseudonym-key", "master-key"):
            path = self.local_dir / name
            if not path.exists():
                write_private(path, (secrets.token_urlsafe(32) + "\n").encode())
            written[name] = path
        return written


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (0600) from its first byte: written to
    a private temporary file in the same directory, then renamed over `path` (atomic), so
    no reader ever sees it with the umask's mode or half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:  # mkstemp creates it 0600
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _listed(value: str) -> list[str]:
    """The items of a comma-separated setting, trimmed, empty ones left out."""
    return [item.strip() for item in value.split(",") if item.strip()]


class DatabaseTarget:
    """The parts of CONTACTMOMENT_DATABASE_URL the local stack needs."""

    def __init__(self, host: str, port: int, user: str, name: str) -> None:
        self.host, self.port, self.user, self.name = host, port, user, name

    @classmethod
    def parse(cls, url: str) -> DatabaseTarget:
        parts = urlsplit(url)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "contactmoment",
            name=(parts.path or "/contactmoment").lstrip("/") or "contactmoment",
        )


def load_settings() -> Settings:
    """Read and validate the environment; raise ConfigError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            # A rule over several fields (a model validator) has no location: its message
            # names the variables itself.
            f"CONTACTMOMENT_{str(err['loc'][0]).upper()}: {err['msg']}"
            if err["loc"]
            else err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
