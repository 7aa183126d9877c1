"""Who is calling: real ES256 tokens of the development issuer against Authenticator."""

import functools
import http.server
import ipaddress
import ssl
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.api.auth import STATIC_SUBJECT, Authenticator, Resident, Staff
from services.api.problems import Problem
from services.dev import tokens
from services.dev.tokens import DEV_ISSUER, ensure_issuer, resident_token, staff_token
from services.settings import ConfigError, Settings

BSN = "999993653"  # passes the 11-proof
STATIC = "a-static-development-token-0123456789"  # 32 characters and more


@pytest.fixture
def issuer_dir(tmp_path: Path) -> Path:
    ensure_issuer(tmp_path)
    return tmp_path


def settings_for(jwks: Path | str | None, issuer: str | None = DEV_ISSUER) -> Settings:
    return Settings(
        jwt_issuer=issuer,
        jwt_jwks=None if jwks is None else str(jwks),
        jwt_audience="contactmoment",
        resident_audience="contactmoment-mijn",
    )


@pytest.fixture
def auth(issuer_dir: Path) -> Authenticator:
    _, jwks = ensure_issuer(issuer_dir)
    return Authenticator(settings_for(jwks), None)


async def refused(auth: Authenticator, token: str, status: int) -> Problem:
    with pytest.raises(Problem) as caught:
        await auth.principal(token)
    assert caught.value.status == status, caught.value.detail
    if status == 401:
        assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")
    return caught.value


def signed(issuer_dir: Path, **claims: Any) -> str:
    """A token with exactly these claims (plus iat/jti), signed by the issuer's key."""
    key_path, _ = ensure_issuer(issuer_dir)
    body = {"iat": int(time.time()), "jti": uuid.uuid4().hex, **claims}
    return jwt.encode(body, key_path.read_bytes(), algorithm="ES256", headers={"kid": tokens.KID})


async def test_a_staff_token_gives_its_roles_and_department(
    auth: Authenticator, issuer_dir: Path
) -> None:
    token = staff_token(issuer_dir, "j.jansen", ["department", "kcc"], department="Burgerzaken")
    who = await auth.principal(token)
    assert who == Staff("j.jansen", frozenset({"department", "kcc"}), "Burgerzaken")


async def test_roles_may_be_space_separated_and_unknown_ones_are_ignored(
    auth: Authenticator, issuer_dir: Path
) -> None:
    token = tokens.issue(
        issuer_dir, {"sub": "svc-phone", "aud": "contactmoment", "roles": "channel admin"}
    )
    assert await auth.principal(token) == Staff("svc-phone", frozenset({"channel"}), None)


async def test_a_resident_token_gives_the_bsn(auth: Authenticator, issuer_dir: Path) -> None:
    who = await auth.principal(resident_token(issuer_dir, "9999.93.653"))
    assert isinstance(who, Resident)
    assert who.bsn == BSN
    assert who.subject.startswith("digid-")


def test_a_residents_repr_does_not_show_the_bsn() -> None:
    who = Resident("digid-abc", BSN)
    assert BSN not in repr(who)
    assert BSN not in str(who)
    assert "digid-abc" in repr(who)


async def test_an_expired_token_is_401(auth: Authenticator, issuer_dir: Path) -> None:
    # 60 s past its expiry: beyond the 30 s clock leeway
    now = int(time.time())
    token = signed(
        issuer_dir, iss=DEV_ISSUER, sub="j", aud="contactmoment", roles=["kcc"], exp=now - 60
    )
    problem = await refused(auth, token, 401)
    assert "expired" in problem.detail.lower()
    assert await auth.principal(staff_token(issuer_dir, "j", ["kcc"], minutes=1))  # not expired


async def test_within_the_leeway_a_just_expired_token_still_counts(
    auth: Authenticator, issuer_dir: Path
) -> None:
    token = signed(
        issuer_dir,
        iss=DEV_ISSUER,
        sub="j",
        aud="contactmoment",
        roles=["kcc"],
        exp=int(time.time()) - 5,
    )
    assert isinstance(await auth.principal(token), Staff)


async def test_a_token_of_another_issuer_is_401(auth: Authenticator, issuer_dir: Path) -> None:
    token = tokens.issue(
        issuer_dir,
        {"iss": "urn:someone-else", "sub": "j", "aud": "contactmoment", "roles": ["kcc"]},
    )
    await refused(auth, token, 401)


async def test_a_token_for_another_audience_is_401(auth: Authenticator, issuer_dir: Path) -> None:
    await refused(auth, staff_token(issuer_dir, "j", ["kcc"], audience="other-app"), 401)


async def test_a_token_signed_by_another_key_is_401(
    auth: Authenticator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stranger = tmp_path_factory.mktemp("stranger")
    ensure_issuer(stranger)  # same issuer name and kid, another key pair
    await refused(auth, staff_token(stranger, "j", ["kcc"]), 401)
    await refused(auth, resident_token(stranger, BSN), 401)


@pytest.mark.parametrize("missing", ["exp", "iss", "aud", "sub"], ids=lambda m: f"without-{m}")
async def test_a_token_without_a_required_claim_is_401(
    auth: Authenticator, issuer_dir: Path, missing: str
) -> None:
    claims = {
        "iss": DEV_ISSUER,
        "sub": "j",
        "aud": "contactmoment",
        "roles": ["kcc"],
        "exp": int(time.time()) + 600,
    }
    del claims[missing]
    await refused(auth, signed(issuer_dir, **claims), 401)


async def test_an_unsigned_or_hmac_token_is_401(auth: Authenticator) -> None:
    claims: dict[str, Any] = {"iss": DEV_ISSUER, "sub": "j", "aud": "contactmoment"}
    claims.update(roles=["kcc"], exp=int(time.time()) + 600)
    await refused(auth, jwt.encode(claims, None, algorithm="none"), 401)  # type: ignore[arg-type]
    await refused(auth, jwt.encode(claims, "a-shared-secret-of-32-bytes-long!", "HS256"), 401)


@pytest.mark.parametrize("roles", [[], ["admin", "superuser"], "beheerder"])
async def test_a_token_with_no_known_role_is_403(
    auth: Authenticator, issuer_dir: Path, roles: list[str] | str
) -> None:
    token = tokens.issue(issuer_dir, {"sub": "j", "aud": "contactmoment", "roles": roles})
    await refused(auth, token, 403)
    await refused(auth, tokens.issue(issuer_dir, {"sub": "j", "aud": "contactmoment"}), 403)


async def test_the_department_role_needs_a_department_claim(
    auth: Authenticator, issuer_dir: Path
) -> None:
    problem = await refused(auth, staff_token(issuer_dir, "j", ["department"]), 403)
    assert "department" in problem.detail


@pytest.mark.parametrize("bsn", ["123456789", "", "abc", "9999936530"])
async def test_a_resident_token_with_an_invalid_bsn_is_401(
    auth: Authenticator, issuer_dir: Path, bsn: str
) -> None:
    await refused(auth, resident_token(issuer_dir, bsn), 401)
    no_bsn = tokens.issue(issuer_dir, {"sub": "digid-x", "aud": "contactmoment-mijn"})
    await refused(auth, no_bsn, 401)


async def test_without_a_static_token_the_static_token_is_refused(
    auth: Authenticator,
) -> None:
    await refused(auth, STATIC, 401)
    await refused(auth, "not.a.token", 401)


async def test_the_static_token_when_given_is_staff_with_every_role_but_department(
    issuer_dir: Path,
) -> None:
    expected = Staff(STATIC_SUBJECT, frozenset({"kcc", "regieteam", "auditor", "channel"}))
    static_only = Authenticator(settings_for(None, issuer=None), STATIC)
    await refused(static_only, STATIC + "x", 401)
    assert await static_only.principal(STATIC) == expected
    await refused(static_only, STATIC[:-1], 401)
    await refused(static_only, resident_token(issuer_dir, BSN), 401)


def test_no_key_set_and_no_static_token_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CONTACTMOMENT_JWT_JWKS"):
        Authenticator(settings_for(None, issuer=None), None)


def test_a_key_set_needs_an_issuer(issuer_dir: Path) -> None:
    _, jwks = ensure_issuer(issuer_dir)
    with pytest.raises(ConfigError, match="CONTACTMOMENT_JWT_ISSUER"):
        Authenticator(settings_for(jwks, issuer=None), None)


def test_a_missing_or_broken_key_set_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a file"):
        Authenticator(settings_for(tmp_path / "nowhere" / "jwks.json"), None)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="is not a JWKS"):
        Authenticator(settings_for(broken), None)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, for a local https server."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_the_key_set_can_come_from_a_url(
    issuer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An identity provider publishes its keys at an https URL: fetched (off the event loop)
    and used; an unreachable key set is a 503 (try again), not a refused token."""
    _, jwks = ensure_issuer(issuer_dir)
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test server's certificate
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(jwks.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/{jwks.name}"
        auth = Authenticator(settings_for(url), None)
        who = await auth.principal(staff_token(issuer_dir, "j.jansen", ["kcc"]))
        assert who == Staff("j.jansen", frozenset({"kcc"}))
    finally:
        server.shutdown()
        server.server_close()
    gone = Authenticator(settings_for(url), None)
    await refused(gone, staff_token(issuer_dir, "j.jansen", ["kcc"]), 503)
