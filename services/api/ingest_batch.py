"""POST /v1/ingest/{phone,counter,web}/batch: many native records of one channel per call.

For channel systems that deliver in bulk. The body is a JSON array of the records the
single endpoint takes; each item is validated and mapped on its own, the valid ones are
sealed and published together, and the answer gives each item's result by its index:

- 202: every item was stored (or was a retry of one already stored);
- 207 Multi-Status: some items were refused (each says its index and field), every other
  item was stored: Kafka acknowledged all their events before this answer;
- 422: every item was refused, nothing was stored;
- 413: the body or the item count is over its limit, nothing was read further or stored;
- 503: Kafka or the key store could not take the batch: none of it counts as stored, and
  the same batch may be retried as it is (ids are deterministic per item).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from schemas.events import Channel
from schemas.identifiers import InvalidIdentifier
from schemas.keys import Pseudonymiser
from services.api.body import read_limited, require_content_type
from services.api.problems import Problem, field_errors
from services.api.state import services
from services.ingest.common import Mapped
from services.ingest.service import ItemRefused

Mapping = Callable[[Any, Pseudonymiser], Mapped]

BATCH_DOC = {
    202: {"description": "Kafka acknowledged every event of every item"},
    207: {
        "description": "some items were refused (`results[i].errors` name the field); "
        "Kafka acknowledged every event of the others"
    },
    401: {"description": "missing or wrong bearer token"},
    413: {
        "description": "body over CONTACTMOMENT_MAX_BATCH_BYTES or more items than "
        "CONTACTMOMENT_INGEST_BATCH_MAX_ITEMS"
    },
    415: {"description": "wrong Content-Type"},
    422: {"description": "the body is not an array of records, or every item was refused"},
    503: {
        "description": "Kafka or the key store cannot take the batch now; nothing of it "
        "counts as stored; retry the same batch after Retry-After seconds"
    },
}


def parse_items(raw: bytes, max_items: int) -> list[Any]:
    """The body's items, or 400/413/422 naming what is wrong with the body as a whole."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, list) or not value:
        problem = "expected a non-empty JSON array of records"
        raise Problem(
            422, "Invalid input", f"body: {problem}", errors=[{"field": "body", "problem": problem}]
        )
    if len(value) > max_items:
        raise Problem(
            413,
            "Too many items",
            f"the batch has {len(value)} items, over CONTACTMOMENT_INGEST_BATCH_MAX_ITEMS: "
            f"{max_items}; nothing was stored. Split it into batches of at most {max_items}",
            limit="CONTACTMOMENT_INGEST_BATCH_MAX_ITEMS",
            maximum=max_items,
        )
    return value


def map_item(
    item: Any, model: type[BaseModel], mapping: Mapping, pseudonyms: Pseudonymiser
) -> Mapped | list[dict[str, str]]:
    """The item's events, or its field errors (as the single endpoint's 422 names them)."""
    if not isinstance(item, dict):
        return [{"field": "body", "problem": "expected a JSON object"}]
    try:
        return mapping(model.model_validate(item), pseudonyms)
    except ValidationError as exc:
        return field_errors(exc)
    except InvalidIdentifier as exc:
        return [{"field": exc.field, "problem": exc.problem}]


def _refused(index: int, status: int, errors: list[dict[str, str]]) -> dict[str, object]:
    return {
        "index": index,
        "status": status,
        "errors": [{**e, "field": f"[{index}].{e['field']}"} for e in errors],
    }


def batch_endpoint(
    channel: Channel, model: type[BaseModel], mapping: Mapping
) -> Callable[..., Any]:
    async def endpoint(request: Request) -> JSONResponse:
        svc = services(request)
        ingest = svc.ingest
        try:
            require_content_type(request, "application/json")
            raw = await read_limited(request, svc.settings.max_batch_bytes)
            items = parse_items(raw, svc.settings.ingest_batch_max_items)
        except Problem:
            ingest.rejected(channel)
            raise
        results: dict[int, dict[str, object]] = {}
        valid: dict[int, Mapped] = {}
        for index, item in enumerate(items):
            outcome = map_item(item, model, mapping, ingest.pseudonyms)
            if isinstance(outcome, Mapped):
                valid[index] = outcome
            else:
                ingest.rejected(channel)
                results[index] = _refused(index, 422, outcome)
        # A Kafka or key-store failure propagates: problems.install answers the whole batch.
        stored = await ingest.accept_batch(channel, valid) if valid else {}
        for index, answer in stored.items():
            if isinstance(answer, ItemRefused):
                errors = [{"field": answer.field, "problem": answer.problem}]
                results[index] = _refused(index, answer.status, errors)
            else:
                results[index] = {"index": index, "status": 202, **answer}
        ordered = [results[i] for i in range(len(items))]
        refused = sum(1 for r in ordered if r["status"] != 202)
        body: dict[str, object] = {
            "accepted": len(ordered) - refused,
            "refused": refused,
            "results": ordered,
        }
        if refused == len(ordered):
            # Nothing stored: a problem document, every bad field named with its item.
            errors = [e for r in ordered for e in r["errors"]]  # type: ignore[attr-defined]
            detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:20])
            problem = Problem(422, "Invalid input", f"no item was stored: {detail}")
            problem.extra |= {**body, "errors": errors}
            raise problem
        return JSONResponse(body, status_code=207 if refused else 202)

    endpoint.__name__ = f"ingest_{channel.value}_batch"
    endpoint.__doc__ = (
        f"Ingest many {channel.value} records ({model.__doc__ or model.__name__}): a JSON "
        "array; per-item results by index (202 all stored, 207 some refused)"
    )
    return endpoint


def add_routes(router: APIRouter, channels: dict[Channel, tuple[type[BaseModel], Mapping]]) -> None:
    """Add `/{channel}/batch` next to each JSON channel's single endpoint on `router`."""
    for channel, (model, mapping) in channels.items():
        router.add_api_route(
            f"/{channel.value}/batch",
            batch_endpoint(channel, model, mapping),
            methods=["POST"],
            status_code=202,
            responses=BATCH_DOC,  # type: ignore[arg-type]
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {"$ref": f"#/components/schemas/{model.__name__}"},
                            }
                        }
                    },
                }
            },
        )
