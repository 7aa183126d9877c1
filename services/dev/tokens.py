"""A development token issuer: an ES256 key pair under `.local/jwt/`, and signed tokens.

Stands in for the municipality's identity provider (staff) and portal (residents) on the
local stack and in tests; production points CONTACTMOMENT_JWT_JWKS at the real issuer.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.settings import write_private

DEV_ISSUER = "urn:contactmoment:dev-issuer"
DEV_SUBJECT = "ontwikkeltoken"  # the all-roles development token `make run` prints
KID = "dev-1"


def paths(local_dir: Path) -> tuple[Path, Path]:
    folder = local_dir / "jwt"
    return folder / "signing-key.pem", folder / "jwks.json"


def ensure_issuer(local_dir: Path) -> tuple[Path, Path]:
    """Create the key pair and its JWKS once; returns (private key, JWKS) paths."""
    key_path, jwks_path = paths(local_dir)
    if key_path.exists() and jwks_path.exists():
        return key_path, jwks_path
    key_path.parent.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(key_path, pem)  # 0600 from the start, renamed into place
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    jwks_path.write_text(
        json.dumps({"keys": [{**public, "kid": KID, "use": "sig", "alg": "ES256"}]})
    )
    return key_path, jwks_path


def issue(local_dir: Path, claims: dict[str, Any], minutes: int = 60) -> str:
    """A signed token with `claims` plus iss/iat/exp/jti."""
    key_path, _ = ensure_issuer(local_dir)
    now = int(time.time())
    body = {"iss": DEV_ISSUER, "iat": now, "exp": now + 60 * minutes, "jti": uuid.uuid4().hex}
    return jwt.encode(
        {**body, **claims}, key_path.read_bytes(), algorithm="ES256", headers={"kid": KID}
    )


def staff_token(
    local_dir: Path,
    subject: str,
    roles: list[str],
    department: str | None = None,
    audience: str = "contactmoment",
    minutes: int = 60,
) -> str:
    claims: dict[str, Any] = {"sub": subject, "aud": audience, "roles": roles}
    if department:
        claims["department"] = department
    return issue(local_dir, claims, minutes)


def resident_token(
    local_dir: Path, bsn: str, audience: str = "contactmoment-mijn", minutes: int = 15
) -> str:
    """What the portal hands over after DigiD: the BSN in a signed claim, short-lived."""
    return issue(
        local_dir, {"sub": f"digid-{uuid.uuid4().hex[:12]}", "aud": audience, "bsn": bsn}, minutes
    )
