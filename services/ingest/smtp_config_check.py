"""`contactmoment smtp check-config`: are the SMTP ingress files usable, and if not, why.

It loads the users file, certificate and key exactly as the API does at start
(`mail_setup.smtp_security`), and adds what the API does not check but the gateway will: that
the certificate is valid now and for a while yet, which names it carries, and whether the key
or the users file can be read by every user of the machine. Every problem names its variable
and file, so one run lists all that is wrong instead of the first.
"""

from __future__ import annotations

import datetime as dt
import ssl
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from services.ingest.mail_setup import SMTP_FILES, smtp_security
from services.ingest.smtp import tls_context
from services.ingest.smtp_auth import InvalidUsersFile, SmtpUsers
from services.settings import ConfigError, Settings

# A certificate this close to its end is renewed now, before the gateway starts refusing it.
RENEW_WITHIN = dt.timedelta(days=30)


@dataclass
class Report:
    """What check-config found: facts (stdout), warnings and problems (stderr)."""

    facts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _readable_by_all(variable: str, path: Path, report: Report) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # reported by the load that follows
    if mode & stat.S_IROTH:
        report.warnings.append(
            f"{variable}: {path} is readable by every user (mode {stat.S_IMODE(mode):04o}); "
            "chmod 600 it, or 0440 with the API's group"
        )


def _users(path: Path, report: Report) -> None:
    variable = SMTP_FILES[0]
    _readable_by_all(variable, path, report)
    try:
        users = SmtpUsers.load(path)
    except InvalidUsersFile as exc:
        report.problems.append(f"{variable}: {exc}")
        return
    names = users.names
    plural = "account" if len(names) == 1 else "accounts"
    report.facts.append(f"users file {path}: {len(names)} {plural} ({', '.join(names)})")


def _certificate(cert: Path, key: Path, report: Report) -> None:
    cert_var, key_var = SMTP_FILES[1], SMTP_FILES[2]
    _readable_by_all(key_var, key, report)
    try:
        chain = x509.load_pem_x509_certificates(cert.read_bytes())
    except OSError as exc:
        report.problems.append(f"{cert_var}: cannot read {cert}: {exc.strerror}")
        return
    except ValueError:
        report.problems.append(f"{cert_var}: {cert} holds no PEM certificate")
        return
    leaf = chain[0]
    now = _now()
    until = leaf.not_valid_after_utc
    if until <= now:
        report.problems.append(
            f"{cert_var}: {cert} expired on {until:%Y-%m-%d}; the gateway will refuse it"
        )
    elif leaf.not_valid_before_utc > now:
        report.problems.append(f"{cert_var}: {cert} is valid only from {leaf.not_valid_before_utc}")
    elif until - now < RENEW_WITHIN:
        report.warnings.append(f"{cert_var}: {cert} expires on {until:%Y-%m-%d}; renew it now")
    try:
        alt = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*alt.get_values_for_type(x509.DNSName)] + [
            str(a) for a in alt.get_values_for_type(x509.IPAddress)
        ]
    except x509.ExtensionNotFound:
        names = []
        report.warnings.append(
            f"{cert_var}: {cert} names no host (no subjectAltName); a gateway that checks the "
            "name will refuse it"
        )
    self_signed = leaf.issuer == leaf.subject
    report.facts.append(
        f"certificate {cert}: {', '.join(names) or leaf.subject.rfc4514_string()}, valid until "
        f"{until:%Y-%m-%d}, {len(chain)} in the chain"
        + (" (self-signed: the gateway must trust this certificate itself)" if self_signed else "")
    )
    try:
        tls_context(cert, key)
    except ssl.SSLError as exc:  # an OSError too: caught first
        if "KEY_VALUES_MISMATCH" in str(exc):
            report.problems.append(f"{key_var}: {key} does not belong to the certificate in {cert}")
        else:
            report.problems.append(f"{key_var}: {key} is not a PEM private key ({exc})")
    except OSError as exc:
        report.problems.append(f"{key_var}: cannot read {key}: {exc.strerror}")
    else:
        report.facts.append(f"key {key}: belongs to the certificate")


def check(settings: Settings) -> Report:
    """Everything wrong with the SMTP ingress settings, and what is right."""
    report = Report()
    given = (settings.smtp_users_file, settings.smtp_tls_cert, settings.smtp_tls_key)
    for variable, value in zip(SMTP_FILES, given, strict=True):
        if value is None:
            report.problems.append(f"{variable} is not set")
    users, cert, key = given
    if users is not None:
        _users(users, report)
    if cert is not None and key is not None:
        _certificate(cert, key, report)
    if report.ok:
        # The API's own start-up load: whatever it refuses, this refuses too.
        try:
            smtp_security(settings)
        except ConfigError as exc:
            report.problems.append(str(exc))
    mode = (
        "implicit TLS (CONTACTMOMENT_SMTP_IMPLICIT_TLS=true)"
        if settings.smtp_implicit_tls
        else "STARTTLS"
    )
    report.facts.append(
        f"SMTP on port {settings.smtp_port}: {mode}, then AUTH PLAIN or LOGIN; at most "
        f"{settings.smtp_max_sessions} sessions at once"
    )
    return report
