"""RFC 9457 problem details: every error a client sees says what was wrong and what to do.

An answer for something unavailable or failing on our side (5xx) says what is unavailable
and what to do, never where it runs: the cause (exception text, which can name a host, a
URL or a user) goes to the log, where the operator reads it, not to the caller.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.kafka.errors import KafkaAdapterError, RecordTooLarge
from services.privacy.sealer import SealingUnavailable
from services.privacy.sealing import LooksSealed

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}
        self.extra = extra


SAFE_RETRY = "retry the same call later (retries are safe: ids are deterministic)"


def kafka_problem(exc: KafkaAdapterError) -> Problem:
    """What a client is told when Kafka did not take its records: its flags decide."""
    if exc.retriable:
        log.warning("Kafka did not take the records: %s", exc)
        return Problem(
            503,
            "Kafka unavailable",
            f"the event store (Kafka) cannot take the records now, so nothing was stored; "
            f"{SAFE_RETRY}",
            headers={"Retry-After": str(exc.retry_after or 5)},
        )
    if isinstance(exc, RecordTooLarge):
        # Its text is ours (sizes and the limit), and it is what the caller must change.
        problem = Problem(
            413,
            "Record too large",
            f"nothing was stored: {exc}. Retrying will not help; shorten the input (its free "
            "text especially) or split it into several calls",
        )
        if exc.limit is not None:
            problem.extra["limit_bytes"] = exc.limit
        return problem
    log.error("Kafka refused the records: %s", exc)
    return Problem(
        500,
        "Kafka refused the records",
        "the event store (Kafka) refused the records, so nothing was stored; retrying the "
        "same call will not help until the operator has fixed the cause (it is in the API's "
        "log)",
    )


def key_store_problem(exc: SealingUnavailable) -> Problem:
    """503: personal text is sealed before it is stored; without the key store, nothing is."""
    log.warning("the key store is unavailable: %s", exc)
    return Problem(
        503,
        "Key store unavailable",
        "the key store that seals personal text before it goes to Kafka cannot be reached, "
        f"so nothing was stored; {SAFE_RETRY}",
        headers={"Retry-After": str(exc.retry_after)},
    )


def internal_problem() -> Problem:
    """500 for a failure nobody foresaw: the traceback is logged, the caller told no more."""
    return Problem(
        500,
        "Internal error",
        "the call failed on our side; it may or may not have taken effect. Retry it (ingest "
        "retries are safe: ids are deterministic); if it keeps failing, tell the operator "
        "(the cause is in the API's log)",
    )


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://contactmoment.nl/problems/{problem.status}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance:
        body["instance"] = instance
    body.update(problem.extra)
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


def field_errors(
    exc: ValidationError | RequestValidationError, prefix: str = ""
) -> list[dict[str, str]]:
    """[{field: "auth.bsn", problem: "fails the 11-check"}, …] from pydantic errors."""
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if p not in ("body",)]
        # Tagged unions add the tag to the location (auth.digid.bsn): keep the field path.
        loc = [p for p in loc if p not in ("digid", "eherkenning", "function-after[check()]")]
        field = ".".join([prefix, *loc] if prefix else loc) or "body"
        msg = str(err["msg"]).removeprefix("Value error, ")
        # Model-level checks name their field themselves ("caller: …").
        if field == "body" and ": " in msg:
            field, msg = msg.split(": ", 1)
        errors.append({"field": field, "problem": msg})
    return errors


def validation_problem(errors: list[dict[str, str]]) -> Problem:
    detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
    return Problem(422, "Invalid input", detail, errors=errors)


def install(app: FastAPI) -> None:
    """Every error path answers application/problem+json; a Kafka or key-store failure
    anywhere in a handler is answered from the error's own flags."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(KafkaAdapterError)
    async def _kafka(request: Request, exc: KafkaAdapterError) -> JSONResponse:
        return problem_response(kafka_problem(exc), request.url.path)

    @app.exception_handler(SealingUnavailable)
    async def _key_store(request: Request, exc: SealingUnavailable) -> JSONResponse:
        return problem_response(key_store_problem(exc), request.url.path)

    @app.exception_handler(LooksSealed)
    async def _looks_sealed(request: Request, exc: LooksSealed) -> JSONResponse:
        problem = validation_problem(
            [{"field": exc.field, "problem": "looks like sealed text (enc:v…); send plain text"}]
        )
        return problem_response(problem, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(field_errors(exc)), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after this answer, so the server logs the traceback too.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(internal_problem(), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is no resource at {request.url.path}; see /openapi.json"
        return problem_response(
            Problem(
                exc.status_code,
                titles.get(exc.status_code, "Error"),
                detail,
                headers=dict(exc.headers or {}),
            ),
            request.url.path,
        )
