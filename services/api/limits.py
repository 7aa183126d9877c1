"""Limits before work: an ASGI middleware in front of every route.

Before a handler, a dependency or the authenticator runs, a request is held to its route's
body limit (a declared Content-Length over it is refused at once, a chunked body is counted
while it streams and cut at the limit), JSON is held to a nesting depth (counted on the
bytes, so bodies FastAPI parses into models are covered as well as the ingest parser), and
logins are rate limited per client address. Refusals are problem+json naming the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import Problem, problem_response
from services.api.ratelimit import RateLimits, too_many
from services.settings import Settings

SMALL_BODY = 16 * 1024
"""Login forms (a token of a few kB) and customer searches (four identifiers)."""

LOGINS = frozenset({"/ui/login", "/ui/mijn/login"})
SMALL_ROUTES = LOGINS | {"/v1/customers/search"}
STREAMED_ROUTES = frozenset({"/v1/ingest/email"})
"""Read by their handler as a stream (counted here, not buffered)."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


@dataclass(frozen=True)
class Limit:
    """A route's body limit and the name a 413 gives it."""

    bytes: int
    name: str


def limit_for(path: str, settings: Settings) -> Limit:
    """The body limit of a route: small for logins and search, the e-mail setting for the
    e-mail route, the JSON setting for everything else."""
    if path in SMALL_ROUTES:
        return Limit(SMALL_BODY, "the limit of this form")
    if path in STREAMED_ROUTES:
        return Limit(settings.max_email_bytes, "CONTACTMOMENT_MAX_EMAIL_BYTES")
    if path.startswith("/v1/ingest/") and path.endswith("/batch"):
        return Limit(settings.max_batch_bytes, "CONTACTMOMENT_MAX_BATCH_BYTES")
    return Limit(settings.max_json_bytes, "CONTACTMOMENT_MAX_JSON_BYTES")


def too_deep(raw: bytes, limit: int) -> bool:
    """Does JSON text nest arrays/objects deeper than `limit`? Brackets inside strings do
    not count. Malformed text may be judged either way: the parser refuses it anyway."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False  # cannot be deeper than the number of containers (the common case)
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _too_large(size: int | None, limit: Limit) -> Problem:
    got = f" (got at least {size} bytes)" if size is not None else ""
    return Problem(
        413,
        "Payload too large",
        f"the body is over {limit.name}: {limit.bytes} bytes{got}; nothing was read or "
        "stored. Shorten or split the input, or ask the operator to raise the limit",
        limit_bytes=limit.bytes,
    )


def _too_deep(depth: int) -> Problem:
    return Problem(
        400,
        "JSON nested too deeply",
        f"the JSON body nests arrays or objects more than {depth} levels deep "
        "(CONTACTMOMENT_MAX_JSON_DEPTH); nothing was stored",
        limit_depth=depth,
    )


def _is_json(scope: Scope) -> bool:
    """JSON or no Content-Type: FastAPI parses a body without one as JSON."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";")[0].strip().lower()
            return media.endswith((b"/json", b"+json"))
    return True


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


class BodyTooLarge(Exception):
    """Raised from a streamed route's receive when its body passes the limit."""

    def __init__(self, size: int) -> None:
        super().__init__(f"body over the limit at {size} bytes")
        self.size = size


class Limits:
    """The middleware: rate limit logins, refuse oversized bodies, cap JSON depth."""

    def __init__(self, app: ASGIApp, settings: Settings, rate_limits: RateLimits) -> None:
        self.app = app
        self.settings = settings
        self.rate_limits = rate_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in LOGINS and scope["method"] == "POST":
            buckets = self.rate_limits.logins
            client = scope.get("client")
            wait = buckets.take(client[0] if client else "unknown")
            if wait is not None:
                per_minute = int(buckets.capacity)
                problem = too_many(
                    wait, "login attempts", per_minute, "CONTACTMOMENT_LOGIN_ATTEMPTS_PER_MINUTE"
                )
                await self._refuse(problem, scope, receive, send)
                return
        limit = limit_for(path, self.settings)
        declared = _declared_length(scope)
        if declared is not None and declared > limit.bytes:
            await self._refuse(_too_large(declared, limit), scope, receive, send)
            return
        if path in STREAMED_ROUTES:
            await self._streamed(limit, scope, receive, send)
            return
        body = await self._read(limit, receive)
        if isinstance(body, Problem):
            await self._refuse(body, scope, receive, send)
            return
        if body is None:
            return  # the client went away before sending its body: nothing to answer
        if body and _is_json(scope) and too_deep(body, self.settings.max_json_depth):
            await self._refuse(_too_deep(self.settings.max_json_depth), scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _read(limit: Limit, receive: Receive) -> bytes | Problem | None:
        """The whole body (at most the limit), a 413, or None when the client left."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit.bytes:
                return _too_large(size, limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _streamed(self, limit: Limit, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the body through as it streams, counting; past the limit, stop and 413."""
        size = 0
        started = False

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit.bytes:
                    raise BodyTooLarge(size)
            return message

        async def noted(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, noted)
        except BodyTooLarge as exc:
            if started:
                raise
            await self._refuse(_too_large(exc.size, limit), scope, receive, send)

    @staticmethod
    async def _refuse(problem: Problem, scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(problem, scope["path"])(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then listens to the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
