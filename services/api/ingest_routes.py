"""POST /v1/ingest/{phone,counter,web,email}: decode, map (pure), publish, answer 202."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from schemas.events import Channel
from schemas.identifiers import InvalidIdentifier
from schemas.keys import Pseudonymiser
from services.api import ingest_batch
from services.api.auth import requires
from services.api.body import parse_json_object, read_limited, require_content_type
from services.api.problems import Problem, field_errors, validation_problem
from services.api.state import services
from services.ingest.common import Mapped
from services.ingest.counter import CounterVisit, map_counter_visit
from services.ingest.email import InvalidEmail, map_email
from services.ingest.mail_limits import MailLimitExceeded
from services.ingest.phone import PhoneCall, map_phone_call
from services.ingest.service import Ingest
from services.ingest.web import WebSubmission, map_web_submission

router = APIRouter(
    prefix="/v1/ingest", tags=["ingest"], dependencies=[Depends(requires("channel"))]
)

ACCEPTED_DOC = {
    202: {"description": "Kafka acknowledged every event of the call"},
    401: {"description": "missing or wrong bearer token"},
    413: {"description": "body over the size limit, or an event over Kafka's record limit"},
    415: {"description": "wrong Content-Type"},
    422: {"description": "invalid input; `errors` names each field"},
    503: {
        "description": "Kafka or the key store cannot take the events now; retry after "
        "Retry-After seconds"
    },
}

# Each JSON channel: its payload model and its pure mapping.
JSON_CHANNELS: dict[Channel, tuple[type[BaseModel], Callable[[Any, Pseudonymiser], Mapped]]] = {
    Channel.PHONE: (PhoneCall, map_phone_call),
    Channel.COUNTER: (CounterVisit, map_counter_visit),
    Channel.WEB: (WebSubmission, map_web_submission),
}


async def _publish(ingest: Ingest, channel: Channel, mapped: Mapped) -> JSONResponse:
    # A Kafka or key-store failure propagates: problems.install answers it from its flags.
    body = await ingest.accept(channel, mapped)
    return JSONResponse(body, status_code=202)


def _json_endpoint(channel: Channel) -> Callable[..., Any]:
    model, mapping = JSON_CHANNELS[channel]

    async def endpoint(request: Request) -> JSONResponse:
        svc = services(request)
        ingest = svc.ingest
        try:
            require_content_type(request, "application/json")
            raw = await read_limited(request, svc.settings.max_json_bytes)
            payload = model.model_validate(parse_json_object(raw))
            mapped = mapping(payload, ingest.pseudonyms)
        except ValidationError as exc:
            ingest.rejected(channel)
            raise validation_problem(field_errors(exc)) from None
        except InvalidIdentifier as exc:
            ingest.rejected(channel)
            raise validation_problem([{"field": exc.field, "problem": exc.problem}]) from None
        except Problem:
            ingest.rejected(channel)
            raise
        return await _publish(ingest, channel, mapped)

    endpoint.__name__ = f"ingest_{channel.value}"
    endpoint.__doc__ = f"Ingest one {channel.value} record ({model.__doc__ or model.__name__})"
    return endpoint


for _channel, (_model, _mapping) in JSON_CHANNELS.items():
    router.add_api_route(
        f"/{_channel.value}",
        _json_endpoint(_channel),
        methods=["POST"],
        status_code=202,
        responses=ACCEPTED_DOC,  # type: ignore[arg-type]
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{_model.__name__}"}
                    }
                },
            }
        },
    )


@router.post(
    "/email",
    status_code=202,
    responses=ACCEPTED_DOC,  # type: ignore[arg-type]
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def ingest_email(request: Request) -> JSONResponse:
    """Ingest one raw e-mail (also accepted over SMTP)."""
    svc = services(request)
    ingest = svc.ingest
    try:
        require_content_type(request, "message/rfc822")
        raw = await read_limited(request, svc.settings.max_email_bytes)
        received = ingest.clock()
        mail = await svc.mail.read(raw)  # limits first, then a parse off the event loop
        skew = timedelta(seconds=svc.settings.email_date_skew_seconds)
        mapped = map_email(mail, ingest.pseudonyms, ingest.own_domains, received, skew)
    except MailLimitExceeded as exc:
        ingest.rejected(Channel.EMAIL)
        raise _limit_problem(exc) from None
    except InvalidEmail as exc:
        ingest.rejected(Channel.EMAIL)
        raise validation_problem([{"field": exc.field, "problem": exc.problem}]) from None
    except Problem:
        ingest.rejected(Channel.EMAIL)
        raise
    return await _publish(ingest, Channel.EMAIL, mapped)


def _limit_problem(exc: MailLimitExceeded) -> Problem:
    """413 for a size limit, 422 for a structural one; either names the limit."""
    if exc.size:
        return Problem(
            413,
            "E-mail over a size limit",
            f"{exc.field}: {exc.problem}",
            limit=exc.limit,
            maximum=exc.maximum,
        )
    problem = validation_problem([{"field": exc.field, "problem": exc.problem}])
    problem.extra |= {"limit": exc.limit, "maximum": exc.maximum}
    return problem


# The bulk variant of each JSON channel (services/api/ingest_batch.py), on this router.
ingest_batch.add_routes(router, JSON_CHANNELS)
