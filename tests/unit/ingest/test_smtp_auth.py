"""The SMTP users file: scrypt hashes, checked in constant time; bad files and missing
settings are refused naming the variable."""

import stat
from pathlib import Path

import pytest

from services.dev.smtp_secrets import ensure_smtp_secrets
from services.ingest.mail_setup import smtp_security
from services.ingest.smtp_auth import InvalidUsersFile, SmtpUsers, hash_password, users_line
from services.settings import ConfigError, Settings


def test_a_password_verifies_and_a_wrong_one_does_not(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("# the mail gateway\n" + users_line("gateway", "s3cret-pass"))
    users = SmtpUsers.load(path)
    assert users.verify(b"gateway", b"s3cret-pass")
    assert not users.verify(b"gateway", b"s3cret-pas")
    assert not users.verify(b"nobody", b"s3cret-pass")
    assert "s3cret-pass" not in path.read_text()  # only the hash is stored


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same") != hash_password("same")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no user"),
        ("gateway\n", ":1: expected name:scrypt"),
        ("gateway:plain-password\n", ":1: expected scrypt$"),
        ("gateway:scrypt$100$8$1$AAAA$AAAA\n", "power of two"),
    ],
)
def test_a_bad_users_file_names_the_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "users"
    path.write_text(text)
    with pytest.raises(InvalidUsersFile) as exc:
        SmtpUsers.load(path)
    assert problem in str(exc.value)


def test_smtp_without_users_or_tls_names_the_variables() -> None:
    with pytest.raises(ConfigError) as exc:
        smtp_security(Settings())
    for name in (
        "CONTACTMOMENT_SMTP_USERS_FILE",
        "CONTACTMOMENT_SMTP_TLS_CERT",
        "CONTACTMOMENT_SMTP_TLS_KEY",
    ):
        assert name in str(exc.value)


def test_an_unreadable_certificate_names_the_variables(tmp_path: Path) -> None:
    made = ensure_smtp_secrets(tmp_path)
    (tmp_path / "broken.pem").write_text("not a certificate")
    settings = Settings(
        smtp_users_file=made.users_file,
        smtp_tls_cert=tmp_path / "broken.pem",
        smtp_tls_key=made.key,
    )
    with pytest.raises(ConfigError) as exc:
        smtp_security(settings)
    assert "CONTACTMOMENT_SMTP_TLS_CERT" in str(exc.value)


def test_generated_secrets_are_private_and_kept(tmp_path: Path) -> None:
    first = ensure_smtp_secrets(tmp_path / "smtp")
    for path in (first.users_file, first.key, tmp_path / "smtp" / "gateway-password"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SmtpUsers.load(first.users_file).verify(b"gateway", first.password.encode())
    assert ensure_smtp_secrets(tmp_path / "smtp") == first  # created once
    settings = Settings(
        smtp_users_file=first.users_file, smtp_tls_cert=first.cert, smtp_tls_key=first.key
    )
    assert smtp_security(settings).implicit_tls is False
