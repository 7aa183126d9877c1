"""Reading request bodies safely: content type first, then a size limit while streaming.

The limits middleware (services/api/limits.py) has already refused bodies over the route's
limit and deep JSON; the checks here keep a handler safe on its own."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from services.api.problems import Problem


def require_content_type(request: Request, *accepted: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given not in accepted:
        raise Problem(
            415,
            "Unsupported media type",
            f"send the body as {' or '.join(accepted)} (got {given or 'no Content-Type'})",
        )


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it passes `limit` bytes (without reading the rest)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> Problem:
    return Problem(
        413,
        "Payload too large",
        f"the body is over the limit of {limit} bytes (got at least {size}); "
        "split the input or ask the operator to raise the limit",
        limit_bytes=limit,
    )


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        # services/api/limits.py refuses deep JSON before it gets here; this is the backstop.
        raise Problem(400, "JSON nested too deeply", "the JSON body nests too deeply") from None
    if not isinstance(value, dict):
        raise Problem(
            422,
            "Invalid input",
            "body: expected a JSON object",
            errors=[{"field": "body", "problem": "expected a JSON object"}],
        )
    return value
