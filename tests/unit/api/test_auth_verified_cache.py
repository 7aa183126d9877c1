"""A checked token is not checked again for a while: never past its expiry, never for a
token that differs in one byte, never for one that was refused."""

import time
from pathlib import Path

import jwt
import pytest

from services.api import auth as auth_module
from services.api.auth import Authenticator, Staff
from services.api.problems import Problem
from services.dev.tokens import DEV_ISSUER, ensure_issuer, issue, staff_token
from services.settings import Settings


@pytest.fixture
def issuer_dir(tmp_path: Path) -> Path:
    ensure_issuer(tmp_path)
    return tmp_path


@pytest.fixture
def auth(issuer_dir: Path) -> Authenticator:
    _, jwks = ensure_issuer(issuer_dir)
    return Authenticator(
        Settings(
            jwt_issuer=DEV_ISSUER,
            jwt_jwks=str(jwks),
            jwt_audience="contactmoment",
            resident_audience="contactmoment-mijn",
        ),
        None,
    )


def counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = jwt.decode

    def decode(token: str, *args: object, **kwargs: object) -> object:
        calls.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(auth_module.jwt, "decode", decode)
    return calls


async def test_the_same_token_is_checked_once(
    auth: Authenticator, issuer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_decode(monkeypatch)
    token = staff_token(issuer_dir, "kanaal-telefonie", ["channel"])
    first = await auth.principal(token)
    again = await auth.principal(token)
    assert first == again and isinstance(first, Staff)
    assert len(calls) == 1


async def test_a_changed_byte_is_checked_and_refused(auth: Authenticator, issuer_dir: Path) -> None:
    token = staff_token(issuer_dir, "kanaal-telefonie", ["channel"])
    await auth.principal(token)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(Problem) as caught:
        await auth.principal(forged)
    assert caught.value.status == 401


async def test_a_cached_token_is_refused_once_it_expires(
    auth: Authenticator, issuer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issue(issuer_dir, {"sub": "kort", "aud": "contactmoment", "roles": ["channel"]}, 1)
    await auth.principal(token)
    later = time.time() + 120  # past exp + jwt's 30 s leeway
    monkeypatch.setattr(auth_module.time, "time", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(later), raising=False)
    calls = counting_decode(monkeypatch)
    with pytest.raises(Problem):
        await auth.principal(token)
    assert len(calls) == 1  # checked again, not answered from the cache


class _FrozenDatetime:
    """jwt reads the current time through datetime.now(tz=UTC)."""

    def __init__(self, at: float) -> None:
        from datetime import UTC, datetime

        self._now = datetime.fromtimestamp(at, UTC)
        self._real = datetime

    def now(self, tz: object = None) -> object:
        return self._now

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


async def test_a_refused_token_is_not_remembered(
    auth: Authenticator, issuer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = staff_token(issuer_dir, "niemand", ["no-such-role"])
    calls = counting_decode(monkeypatch)
    for _ in range(2):
        with pytest.raises(Problem) as caught:
            await auth.principal(token)
        assert caught.value.status == 403
    assert len(calls) == 2
