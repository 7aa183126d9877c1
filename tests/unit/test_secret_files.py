"""Secrets on disk are created private (0600) in one step, and configuration errors never
repeat a password."""

import os
import stat
from pathlib import Path

import pytest

from services.dev.tokens import ensure_issuer
from services.settings import ConfigError, Settings, load_settings


def test_a_bad_database_url_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONTACTMOMENT_DATABASE_URL", "mysql://app:Geheim-W8woord@db.intern:3306/x")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "CONTACTMOMENT_DATABASE_URL" in message
    assert "Geheim-W8woord" not in message


def _private_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail a test whose code makes a file private only after it exists (a chmod after
    writing leaves a window in which the umask's mode applies)."""

    def chmod(self: Path, mode: int, **kwargs: object) -> None:
        raise AssertionError(f"{self} was made private after it was written")

    monkeypatch.setattr(Path, "chmod", chmod)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_secrets_are_created_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _private_from_the_start(monkeypatch)
    old = os.umask(0o022)
    try:
        written = Settings(local_dir=tmp_path / ".local").ensure_secrets()
    finally:
        os.umask(old)
    assert set(written) == {"api-token", "pseudonym-key", "master-key"}
    for path in written.values():
        assert _mode(path) == 0o600, path
        assert len(path.read_text().strip()) >= 32
    assert sorted(p.name for p in (tmp_path / ".local").iterdir()) == sorted(written)


def test_the_development_signing_key_is_created_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _private_from_the_start(monkeypatch)
    key, jwks = ensure_issuer(tmp_path)
    assert _mode(key) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert jwks.is_file()
    assert sorted(p.name for p in key.parent.iterdir()) == ["jwks.json", "signing-key.pem"]


def test_a_secret_file_is_kept_once_written(tmp_path: Path) -> None:
    settings = Settings(local_dir=tmp_path)
    first = settings.ensure_secrets()["master-key"].read_text()
    assert settings.ensure_secrets()["master-key"].read_text() == first
