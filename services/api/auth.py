"""Who is calling: staff and channel systems with a JWT (or the development token), and
residents with the portal's JWT that carries their BSN.

Tokens are checked against the configured issuer and key set (CONTACTMOMENT_JWT_ISSUER,
CONTACTMOMENT_JWT_JWKS: a JWKS file or https URL). Staff tokens have the audience
CONTACTMOMENT_JWT_AUDIENCE and a `roles` claim; resident tokens the audience
CONTACTMOMENT_RESIDENT_AUDIENCE and a `bsn` claim. The static development token (at least 32
characters) is accepted only when CONTACTMOMENT_ALLOW_STATIC_TOKEN is set and no key set is
configured; `make run` signs in with the development issuer's JWTs instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from fastapi import Request
from stdnum.nl import bsn as stdnum_bsn

from schemas.events import STAFF_ROLES
from services.api.problems import Problem
from services.api.state import services
from services.settings import ConfigError, Settings

log = logging.getLogger(__name__)
ROLES = STAFF_ROLES
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
STATIC_SUBJECT = "ontwikkeltoken"


@dataclass(frozen=True)
class Staff:
    """A member of staff or a channel system, with the roles its token grants."""

    subject: str
    roles: frozenset[str]
    department: str | None = None


@dataclass(frozen=True)
class Resident:
    """A resident signed in through the portal; the BSN stays in memory, never logged."""

    subject: str
    bsn: str = field(repr=False)


class KeySet:
    """The issuer's public keys: a JWKS file (read once) or URL (fetched and cached)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._client: jwt.PyJWKClient | None = None
        self._set: jwt.PyJWKSet | None = None
        if "://" in source:
            if not source.startswith("https://"):
                # Over plain http anyone on the path could hand us keys of their own.
                raise ConfigError(
                    "CONTACTMOMENT_JWT_JWKS: a key set URL must be https://, "
                    f"not {source.partition('://')[0]}://"
                )
            self._client = jwt.PyJWKClient(source, lifespan=300, timeout=5)
        else:
            path = Path(source)
            if not path.is_file():
                raise ConfigError(f"CONTACTMOMENT_JWT_JWKS: {path} is not a file")
            try:
                self._set = jwt.PyJWKSet.from_dict(json.loads(path.read_text()))
            except (ValueError, jwt.PyJWKSetError) as exc:
                raise ConfigError(f"CONTACTMOMENT_JWT_JWKS: {path} is not a JWKS ({exc})") from None

    async def key_for(self, token: str) -> Any:
        if self._client is not None:  # urllib under the hood: keep it off the event loop
            return (await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)).key
        assert self._set is not None
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._set.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidTokenError(f"no key with kid {kid!r} in the key set")


STATIC_TOKEN_MIN = 32  # characters


VERIFIED_SECONDS = 60.0
VERIFIED_TOKENS = 10_000


class Authenticator:
    """Checks bearer tokens: the issuer's JWTs (key set configured), or else the static
    development token, never both (a shared secret beside real identities would be a
    back door around them)."""

    def __init__(self, settings: Settings, static_token: str | None) -> None:
        if static_token is not None and settings.jwt_jwks:
            raise ConfigError(
                "the static token (CONTACTMOMENT_ALLOW_STATIC_TOKEN / CONTACTMOMENT_API_TOKEN) "
                "cannot be used with a key set (CONTACTMOMENT_JWT_JWKS): unset one of them"
            )
        if static_token is not None and len(static_token) < STATIC_TOKEN_MIN:
            raise ConfigError(
                f"CONTACTMOMENT_API_TOKEN: the static token needs at least {STATIC_TOKEN_MIN} "
                f"characters, it has {len(static_token)}"
            )
        self.static_token = static_token
        self.issuer = settings.jwt_issuer
        self.staff_audience = settings.jwt_audience
        self.resident_audience = settings.resident_audience
        self.keys = KeySet(settings.jwt_jwks) if settings.jwt_jwks else None
        if self.keys is None and static_token is None:
            raise ConfigError(
                "no way to sign in: set CONTACTMOMENT_JWT_JWKS and CONTACTMOMENT_JWT_ISSUER, "
                "or CONTACTMOMENT_ALLOW_STATIC_TOKEN=true for development"
            )
        if self.keys is not None and not self.issuer:
            raise ConfigError("CONTACTMOMENT_JWT_ISSUER must be set with CONTACTMOMENT_JWT_JWKS")
        # Tokens whose signature and claims were checked: a channel system sends the same
        # token with every call, and an ES256 check cost ~15 % of an ingest call's CPU.
        self._verified: OrderedDict[bytes, tuple[Staff | Resident, float]] = OrderedDict()

    async def principal(self, token: str) -> Staff | Resident:
        if self.static_token and hmac.compare_digest(token.encode(), self.static_token.encode()):
            return Staff(STATIC_SUBJECT, frozenset(ROLES) - {"department"})
        if self.keys is None or token.count(".") != 2:
            raise _unauthorized("the bearer token is not valid for this deployment")
        digest = hashlib.sha256(token.encode()).digest()
        now = time.time()
        if (hit := self._verified.get(digest)) is not None and hit[1] > now:
            return hit[0]
        try:
            claims = jwt.decode(
                token,
                await self.keys.key_for(token),
                algorithms=ALGORITHMS,
                audience=[self.staff_audience, self.resident_audience],
                issuer=self.issuer,
                leeway=30,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientError as exc:
            # The cause names the issuer's host: it goes to the log, not to the caller.
            log.warning("the issuer's key set cannot be fetched: %s", exc)
            raise Problem(
                503,
                "Key set unavailable",
                "the identity provider's key set cannot be fetched to check the token; try again",
                headers={"Retry-After": "5"},
            ) from None
        except jwt.InvalidTokenError as exc:
            raise _unauthorized(f"the token was refused: {exc}") from None
        principal = _principal(claims, self.resident_audience)
        # Kept until the token expires (no leeway here), at most VERIFIED_SECONDS: a key the
        # issuer withdraws stops admitting its tokens within that time.
        self._verified[digest] = (principal, min(float(claims["exp"]), now + VERIFIED_SECONDS))
        self._verified.move_to_end(digest)
        while len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal


def _principal(claims: dict[str, Any], resident_audience: str) -> Staff | Resident:
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if resident_audience in audiences:
        raw = str(claims.get("bsn", ""))
        if not stdnum_bsn.is_valid(raw):
            raise _unauthorized("a resident token must carry a valid `bsn` claim")
        return Resident(str(claims["sub"]), stdnum_bsn.compact(raw))
    roles = claims.get("roles", [])
    roles = roles.split() if isinstance(roles, str) else roles
    if not isinstance(roles, list):
        raise _unauthorized("the `roles` claim must be a list or a space-separated string")
    granted = frozenset(r for r in roles if isinstance(r, str) and r in ROLES)
    if not granted:
        raise Problem(403, "Forbidden", f"the token carries none of the roles {', '.join(ROLES)}")
    department = claims.get("department")
    if "department" in granted and not department:
        raise Problem(403, "Forbidden", "a `department` role needs a `department` claim")
    return Staff(str(claims["sub"]), granted, str(department) if department else None)


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="contactmoment", error="invalid_token"'},
    )


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "Unauthorized",
            "send a token as `Authorization: Bearer <token>` (make run prints one)",
            headers={"WWW-Authenticate": 'Bearer realm="contactmoment"'},
        )
    return token.strip()


async def signed_in(request: Request, token: str) -> Staff | Resident | None:
    """Who a page's cookie token signs in, or None (pages redirect to their login)."""
    if not token:
        return None
    try:
        return await services(request).auth.principal(token)
    except Problem:
        return None


async def current_staff(request: Request) -> Staff:
    """FastAPI dependency: the staff member or channel system behind the bearer token."""
    who = await services(request).auth.principal(bearer(request))
    if not isinstance(who, Staff):
        raise Problem(403, "Forbidden", "a resident token opens only /v1/me")
    return who


async def current_resident(request: Request) -> Resident:
    """FastAPI dependency: the resident behind the portal's token (only for /v1/me)."""
    who = await services(request).auth.principal(bearer(request))
    if not isinstance(who, Resident):
        raise Problem(403, "Forbidden", "/v1/me is for residents; use a resident token")
    return who


def requires(*roles: str) -> Any:
    """FastAPI dependency factory: the caller must hold one of `roles`."""

    async def check(request: Request) -> Staff:
        who = await current_staff(request)
        if not who.roles & set(roles):
            raise Problem(403, "Forbidden", f"this needs one of the roles: {', '.join(roles)}")
        return who

    return check
