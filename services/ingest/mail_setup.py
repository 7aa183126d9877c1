"""E-mail ingest built from the settings: the reader (limits, parse pool) and SMTP security."""

from __future__ import annotations

import ssl
from datetime import timedelta

from services.ingest.mail_limits import MailLimits
from services.ingest.parse_pool import MailReader
from services.ingest.smtp import SmtpSecurity, tls_context
from services.ingest.smtp_auth import InvalidUsersFile, SmtpUsers
from services.settings import ConfigError, Settings

SMTP_FILES = (
    "CONTACTMOMENT_SMTP_USERS_FILE",
    "CONTACTMOMENT_SMTP_TLS_CERT",
    "CONTACTMOMENT_SMTP_TLS_KEY",
)


def mail_reader(settings: Settings) -> MailReader:
    """The limits and parse pool of CONTACTMOMENT_EMAIL_*."""
    limits = MailLimits(
        header_bytes=settings.email_max_header_bytes,
        recipients=settings.email_max_recipients,
        parts=settings.email_max_parts,
        depth=settings.email_max_depth,
    )
    return MailReader(limits, settings.email_parse_timeout_seconds, settings.email_parse_workers)


def date_skew(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.email_date_skew_seconds)


def smtp_security(settings: Settings) -> SmtpSecurity:
    """Users and TLS for SMTP ingress; ConfigError naming the variables when unusable."""
    given = (settings.smtp_users_file, settings.smtp_tls_cert, settings.smtp_tls_key)
    missing = [name for name, value in zip(SMTP_FILES, given, strict=True) if value is None]
    if missing:
        raise ConfigError(
            f"SMTP ingress needs sign-in over TLS: set {', '.join(missing)} (a users file of "
            "scrypt-hashed passwords, the TLS certificate and key), or start the API with "
            "--no-smtp. `make run` generates all three under .local/smtp/."
        )
    users_file, cert, key = given
    assert users_file is not None and cert is not None and key is not None
    try:
        users = SmtpUsers.load(users_file)
    except InvalidUsersFile as exc:
        raise ConfigError(f"CONTACTMOMENT_SMTP_USERS_FILE: {exc}") from None
    try:
        tls = tls_context(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"CONTACTMOMENT_SMTP_TLS_CERT / CONTACTMOMENT_SMTP_TLS_KEY: cannot load {cert} and "
            f"{key} as a PEM certificate chain and its key: {exc}"
        ) from None
    return SmtpSecurity(users, tls, settings.smtp_implicit_tls)
