"""The secure local broker's files: a self-signed CA, the broker's key and certificate, and
one SCRAM password per user, made once under `.local/kafka/`.

The broker reads its key and certificate chain as one PEM keystore (`ssl.keystore.type=PEM`)
and the CA as a PEM truststore; clients verify the broker against `tls/ca.pem`. The same
certificate is the brokers' client certificate on the controller listener (mutual TLS).
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.kafka.client import KINDS, local_password_file, local_tls_dir
from services.settings import write_private

# The broker's own user (inter-broker SASL, ACL setup) and one user per process kind.
BROKER_USER = "broker"
USERS = (BROKER_USER, *KINDS)
BROKER_CN = "contactmoment-broker"
VALID_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA certificate: the truststore of broker and clients
    keystore: Path  # the broker's PKCS#8 key, its certificate and the CA, in PEM


def ensure_tls(local_dir: Path) -> TlsFiles:
    """The CA and broker files, made on the first call and kept after it."""
    home = local_tls_dir(local_dir)
    files = TlsFiles(home / "ca.pem", home / "broker.pem")
    if files.ca.exists() and files.keystore.exists():
        return files
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contactmoment local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, BROKER_CN)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(
            # Clients check the host name: the local brokers listen on 127.0.0.1.
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # The CA key is not kept: nothing else is ever signed with it.
    write_private(files.keystore, key_pem + cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    files.ca.write_bytes(ca_cert.public_bytes(pem))
    return files


def ensure_passwords(local_dir: Path) -> dict[str, str]:
    """One random SCRAM password per user (mode 600 files), made once."""
    passwords = {}
    for user in USERS:
        path = local_password_file(local_dir, user)
        if not path.exists():
            write_private(path, (secrets.token_hex(24) + "\n").encode())
        passwords[user] = path.read_text().strip()
    return passwords
