"""`contactmoment smtp add-user` and `smtp check-config`: the operator's side of SMTP ingress.

The password comes from standard input (a pipe here; a terminal reads it without echo),
never from argv; the users file is rewritten atomically with mode 0600; check-config loads
the three files as the API does and names what is wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import stat
from pathlib import Path

import pytest

from services.cli import build_parser, main
from services.dev.smtp_secrets import self_signed, write_private
from services.ingest.smtp_auth import SmtpUsers, users_line

SMTP_ENV = (
    "CONTACTMOMENT_SMTP_USERS_FILE",
    "CONTACTMOMENT_SMTP_TLS_CERT",
    "CONTACTMOMENT_SMTP_TLS_KEY",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SMTP_ENV:
        monkeypatch.delenv(name, raising=False)


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def _add(monkeypatch: pytest.MonkeyPatch, path: Path, name: str, password: str) -> int:
    _stdin(monkeypatch, password + "\n")
    return main(["smtp", "add-user", name, "--file", str(path)])


# -- add-user ---------------------------------------------------------------------------------


def test_add_user_writes_a_private_users_file_the_api_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "smtp" / "users"
    assert _add(monkeypatch, path, "gateway", "correct horse battery") == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = SmtpUsers.load(path)
    assert users.verify(b"gateway", b"correct horse battery")
    assert "correct horse battery" not in path.read_text()
    out = capsys.readouterr()
    assert "correct horse battery" not in out.out + out.err
    assert "gateway" in out.err


def test_add_user_replaces_the_account_and_keeps_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "users"
    write_private(path, ("# mail gateways\n" + users_line("relay", "relay-password-1")).encode())
    path.chmod(0o644)  # replaced by a 0600 file, not edited in place
    assert _add(monkeypatch, path, "gateway", "first-password-1") == 0
    assert _add(monkeypatch, path, "gateway", "second-password-2") == 0
    text = path.read_text()
    assert text.startswith("# mail gateways\n")
    assert sum(line.startswith("gateway:") for line in text.splitlines()) == 1
    users = SmtpUsers.load(path)
    assert users.verify(b"gateway", b"second-password-2")
    assert not users.verify(b"gateway", b"first-password-1")
    assert users.verify(b"relay", b"relay-password-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["users"]  # no temporary file left


def test_add_user_generate_prints_the_password_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users"
    _stdin(monkeypatch, "")
    assert main(["smtp", "add-user", "gateway", "--file", str(path), "--generate"]) == 0
    out = capsys.readouterr()
    (password,) = out.out.split()
    assert len(password) >= 24
    assert password not in out.err
    assert SmtpUsers.load(path).verify(b"gateway", password.encode())


def test_the_password_is_never_an_argument(capsys: pytest.CaptureFixture[str]) -> None:
    # It would show in `ps` and the shell history.
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(
            ["smtp", "add-user", "gateway", "--file", "users", "--password", "secret-pass"]
        )
    assert exc.value.code == 2
    add = _subparser(_subparser(build_parser(), "smtp"), "add-user")
    assert not any("pass" in option for a in add._actions for option in a.option_strings)


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    found: argparse.ArgumentParser = sub.choices[name]
    return found


@pytest.mark.parametrize(
    ("name", "password", "problem"),
    [
        ("gateway", "", "empty"),
        ("gateway", "short", "at least 12"),
        ("gate way", "long-enough-password", "user name"),
        ("gate:way", "long-enough-password", "user name"),
        ("#gateway", "long-enough-password", "user name"),
    ],
)
def test_add_user_refuses_a_bad_name_or_password(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    password: str,
    problem: str,
) -> None:
    path = tmp_path / "users"
    assert _add(monkeypatch, path, name, password) == 2
    assert problem in capsys.readouterr().err
    assert not path.exists()


def test_add_user_refuses_to_rewrite_a_broken_file_and_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users"
    path.write_text(users_line("relay", "relay-password-1") + "gateway:plain-text\n")
    before = path.read_text()
    assert _add(monkeypatch, path, "gateway", "long-enough-password") == 1
    err = capsys.readouterr().err
    assert f"{path}:2" in err
    assert path.read_text() == before


def test_a_terminal_is_asked_twice_without_echo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    answers = iter(["typed-password-1", "typed-password-1"])

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty())

    def getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", getpass)
    path = tmp_path / "users"
    assert main(["smtp", "add-user", "gateway", "--file", str(path)]) == 0
    assert len(asked) == 2
    assert SmtpUsers.load(path).verify(b"gateway", b"typed-password-1")


def test_a_terminal_whose_two_entries_differ_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["typed-password-1", "typed-password-2"])

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    path = tmp_path / "users"
    assert main(["smtp", "add-user", "gateway", "--file", str(path)]) == 2
    assert "do not match" in capsys.readouterr().err
    assert not path.exists()


# -- check-config -----------------------------------------------------------------------------


def _secrets(folder: Path, days: int = 825) -> dict[str, Path]:
    users, cert, key = folder / "users", folder / "tls.crt", folder / "tls.key"
    write_private(users, users_line("gateway", "gateway-password-1").encode())
    cert_pem, key_pem = self_signed(["mail-in.example.nl"], [], days=days)
    write_private(cert, cert_pem)
    write_private(key, key_pem)
    return {"CONTACTMOMENT_SMTP_USERS_FILE": users, "CONTACTMOMENT_SMTP_TLS_CERT": cert,
            "CONTACTMOMENT_SMTP_TLS_KEY": key}  # fmt: skip


def _env(monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]) -> None:
    for name, path in files.items():
        monkeypatch.setenv(name, str(path))


def test_check_config_accepts_what_the_api_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, _secrets(tmp_path))
    assert main(["smtp", "check-config"]) == 0
    out = capsys.readouterr().out
    assert "1 account (gateway)" in out
    assert "mail-in.example.nl" in out
    assert "STARTTLS" in out


def test_check_config_names_every_unset_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["smtp", "check-config"]) == 1
    err = capsys.readouterr().err
    for name in SMTP_ENV:
        assert name in err


def test_check_config_names_a_bad_users_file_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _secrets(tmp_path)
    files["CONTACTMOMENT_SMTP_USERS_FILE"].write_text("gateway:plain-text\n")
    _env(monkeypatch, files)
    assert main(["smtp", "check-config"]) == 1
    err = capsys.readouterr().err
    assert f"CONTACTMOMENT_SMTP_USERS_FILE: {files['CONTACTMOMENT_SMTP_USERS_FILE']}:1" in err


def test_check_config_names_a_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _secrets(tmp_path)
    files["CONTACTMOMENT_SMTP_TLS_CERT"] = tmp_path / "nowhere.crt"
    _env(monkeypatch, files)
    assert main(["smtp", "check-config"]) == 1
    err = capsys.readouterr().err
    assert "CONTACTMOMENT_SMTP_TLS_CERT" in err and "nowhere.crt" in err


def test_check_config_finds_a_key_of_another_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _secrets(tmp_path)
    other = _secrets(tmp_path / "other")
    files["CONTACTMOMENT_SMTP_TLS_KEY"] = other["CONTACTMOMENT_SMTP_TLS_KEY"]
    _env(monkeypatch, files)
    assert main(["smtp", "check-config"]) == 1
    assert "does not belong to the certificate" in capsys.readouterr().err


def test_check_config_refuses_an_expired_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The API would load it, but no gateway that checks certificates would deliver.
    files = _secrets(tmp_path, days=0)
    _env(monkeypatch, files)
    monkeypatch.setattr(
        "services.ingest.smtp_config_check._now",
        lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
    )
    assert main(["smtp", "check-config"]) == 1
    assert "expired" in capsys.readouterr().err


def test_check_config_warns_about_a_key_others_can_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _secrets(tmp_path)
    files["CONTACTMOMENT_SMTP_TLS_KEY"].chmod(0o644)
    _env(monkeypatch, files)
    assert main(["smtp", "check-config"]) == 0  # a warning, not a failure
    assert "readable by every user" in capsys.readouterr().err
