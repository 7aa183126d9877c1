"""SMTP ingress secrets for the local stack and tests: a gateway account and a TLS pair.

`make run` keeps them under `.local/smtp/`; the test harness makes its own in a temporary
folder. Production configures the users file and a real certificate instead
(CONTACTMOMENT_SMTP_USERS_FILE, CONTACTMOMENT_SMTP_TLS_CERT, CONTACTMOMENT_SMTP_TLS_KEY).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.ingest.smtp_auth import users_line
from services.settings import write_private

GATEWAY_USER = "gateway"


@dataclass(frozen=True)
class SmtpSecrets:
    users_file: Path
    cert: Path
    key: Path
    user: str
    password: str

    def env(self) -> dict[str, str]:
        """The settings that point the API at these files."""
        return {
            "CONTACTMOMENT_SMTP_USERS_FILE": str(self.users_file),
            "CONTACTMOMENT_SMTP_TLS_CERT": str(self.cert),
            "CONTACTMOMENT_SMTP_TLS_KEY": str(self.key),
        }


def ensure_smtp_secrets(folder: Path) -> SmtpSecrets:
    """The gateway account and TLS pair in `folder`, created once (kept across runs)."""
    users, password_file = folder / "users", folder / "gateway-password"
    cert, key = folder / "tls-cert.pem", folder / "tls-key.pem"
    if not (users.exists() and password_file.exists()):
        password = secrets.token_urlsafe(24)
        write_private(password_file, (password + "\n").encode())
        write_private(users, users_line(GATEWAY_USER, password).encode())
    if not (cert.exists() and key.exists()):
        cert_pem, key_pem = self_signed(["localhost"], ["127.0.0.1"])
        write_private(key, key_pem)
        write_private(cert, cert_pem)
    password = password_file.read_text().strip()
    return SmtpSecrets(users, cert, key, GATEWAY_USER, password)


def self_signed(names: list[str], addresses: list[str], days: int = 825) -> tuple[bytes, bytes]:
    """A self-signed certificate (PEM) for the names and IP addresses, and its key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    alt = [x509.DNSName(n) for n in names] + [
        x509.IPAddress(ipaddress.ip_address(a)) for a in addresses
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
