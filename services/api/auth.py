"""Bearer-token authentication for every /v1 endpoint."""

from __future__ import annotations

import hmac

from fastapi import Request

from services.api.problems import Problem


async def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless `Authorization: Bearer <token>` matches."""
    expected: str = request.app.state.api_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            401,
            "Unauthorized",
            "send the API token as `Authorization: Bearer <token>` (make run prints it)",
            headers={"WWW-Authenticate": 'Bearer realm="contactmoment"'},
        )
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Problem(
            401,
            "Unauthorized",
            "the bearer token is not valid for this deployment",
            headers={"WWW-Authenticate": 'Bearer realm="contactmoment", error="invalid_token"'},
        )
