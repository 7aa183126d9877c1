"""Staff endpoints: customer search, summary, timeline, worklist, requests, KPIs.

Every read of personal data needs a role that covers it (services/api/policy.py) and an
X-Purpose, and is recorded in the access log before it is answered (services/api/access.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.envelope import Envelope, new_event
from schemas.events import DATA_MODELS, Actor, EventType, IsoDuration
from schemas.identifiers import IdentifierKind, InvalidIdentifier, redact_bsns
from schemas.keys import is_customer_key
from services.api import policy
from services.api.access import Purpose, purpose, record
from services.api.auth import Staff, requires
from services.api.database import connection
from services.api.problems import Problem, field_errors, validation_problem
from services.api.ratelimit import check_search
from services.api.state import services
from services.readmodel import customers, kpis, worklist
from services.readmodel import search as customer_search
from services.readmodel.customers import Cluster

router = APIRouter(prefix="/v1", tags=["staff"])
Reader = Annotated[Staff, Depends(requires(*policy.READERS))]
Why = Annotated[Purpose, Depends(purpose)]


class Search(BaseModel):
    """Identifiers to look a customer up by; they go in the body, never in a URL."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    bsn: str | None = None
    kvk: str | None = None
    email: str | None = None
    phone: str | None = None


def _unknown_customer(key: str) -> Problem:
    return Problem(
        404,
        "Unknown customer",
        f"no customer with key {key}; find keys with POST /v1/customers/search",
    )


REFINE = "verfijn uw zoekopdracht / refine the search"


@router.post("/customers/search")
async def search_customers(
    search: Search, request: Request, staff: Reader, why: Why
) -> dict[str, Any]:
    """Customers that carry any of the given identifiers that the caller's role covers, the
    most recent contact first: at most CONTACTMOMENT_SEARCH_LIMIT summaries, `more` when
    there are others (then `detail` asks to refine the search). Only the customers returned
    are recorded in the access log. The queries are set-based: their number does not grow
    with the number of customers that share an identifier."""
    return await find_customers(request, staff, why, search)


async def find_customers(
    request: Request, staff: Staff, why: Purpose, search: Search
) -> dict[str, Any]:
    """The search (see `search_customers`), for the API and the staff pages alike: 422 for
    no or an invalid identifier, 429 past the rate limit."""
    check_search(request, staff.subject)  # 429 past CONTACTMOMENT_SEARCHES_PER_MINUTE
    given = {k: v for k, v in search.model_dump().items() if v}
    if not given:
        raise validation_problem(
            [{"field": "body", "problem": "give at least one of bsn, kvk, email, phone"}]
        )
    settings = services(request).settings
    pseudonyms = services(request).pseudonymiser
    try:
        hashes = [
            pseudonyms.identifier(IdentifierKind(kind), raw).hash for kind, raw in given.items()
        ]
    except InvalidIdentifier as exc:
        raise validation_problem([{"field": exc.field, "problem": exc.problem}]) from None
    async with connection(request) as conn:
        # One past twice the page: room for the clusters that fold two carriers into one
        # and for customers the role rule turns away, and a sign that there are more.
        window = 2 * settings.search_limit + 1
        found, full = await customer_search.search(
            conn, hashes, window, customer_search.Reach(*policy.search_reach(staff))
        )
        allowed: list[tuple[Cluster, str]] = []
        for candidate in found:
            role = policy.customer_role(staff, candidate.departments, candidate.overdue)
            if role is not None:
                allowed.append((candidate.group, role))
        page = allowed[: settings.search_limit]
        items = await customers.summaries(
            conn, [g for g, _ in page], settings.shared_identifier_threshold
        )
    await record(request, staff, why, "klant zoeken", {g.root: role for g, role in page})
    answer: dict[str, Any] = {"items": items, "more": full or len(allowed) > len(page)}
    if answer["more"]:
        answer["detail"] = (
            f"{REFINE}: more than {len(page)} customers match, the {len(page)} with the most"
            " recent contact are shown"
        )
    return answer


async def customer_access(request: Request, staff: Staff, key: str) -> tuple[Cluster, str]:
    """The customer's cluster and the role that grants reading it; 404 / 403 otherwise."""
    if not is_customer_key(key):
        raise Problem(
            404, "Unknown customer", f"{key!r} is not a customer key (k- and 32 hex digits)"
        )
    async with connection(request) as conn:
        group = await customers.cluster(conn, key)
        if group is None:
            raise _unknown_customer(key)
        role = policy.customer_role(staff, *await worklist.scope(conn, keys=group.keys))
    if role is None:
        raise Problem(
            403,
            "Forbidden",
            "your role does not cover this customer (no request of your "
            "department, or no overdue request for the regieteam)",
        )
    return group, role


@router.get("/customers/{key}")
async def get_customer(key: str, request: Request, staff: Reader, why: Why) -> dict[str, Any]:
    """The unified customer summary across every linked key."""
    group, role = await customer_access(request, staff, key)
    async with connection(request) as conn:
        answer = await customers.summary(
            conn, group, services(request).settings.shared_identifier_threshold
        )
    await record(request, staff, why, "klantbeeld raadplegen", {group.root: role})
    return answer


@router.get("/customers/{key}/timeline")
async def get_timeline(
    key: str,
    request: Request,
    staff: Reader,
    why: Why,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[str | None, Query(description="the `next` of the previous page")] = None,
) -> dict[str, Any]:
    """Every contact and request event of the customer and linked keys, newest first."""
    group, role = await customer_access(request, staff, key)
    async with connection(request) as conn:
        page = await timeline_page(conn, group, limit, before)
    await record(request, staff, why, "tijdlijn raadplegen", {group.root: role})
    return page


async def timeline_page(
    conn: asyncpg.Connection, group: Cluster, limit: int, before: str | None
) -> dict[str, Any]:
    """A page of the timeline; 422 for a `before` this API did not hand out."""
    try:
        return await customers.timeline(conn, group, limit, before)
    except customers.BadCursor:
        raise validation_problem(
            [{"field": "before", "problem": "not a cursor from this API"}]
        ) from None


@router.get("/requests")
async def list_requests(
    request: Request,
    staff: Reader,
    why: Why,
    status: Literal["open", "overdue", "closed"] = "open",
    department: str | None = None,
    request_type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The worklist, ordered by due_at; `overdue` is the regieteam's list. A department
    role sees its own department's requests only. It shows subjects, customer keys and the
    vulnerability flag, so each customer on the page is recorded in the access log."""
    scope = policy.worklist(staff, status, department)
    if isinstance(scope, str):
        raise Problem(403, "Forbidden", scope)
    role, department = scope
    statuses = worklist.CLOSED_STATUSES if status == "closed" else worklist.OPEN_STATUSES
    async with connection(request) as conn:
        items = await worklist.requests(
            conn,
            statuses=statuses,
            overdue=status == "overdue",
            department=department,
            request_type=request_type,
            limit=limit,
        )
    listed = {item["customer_key"]: role for item in items}
    await record(request, staff, why, "werkvoorraad raadplegen", listed)
    return {"items": items}


@router.get("/requests/{request_id}")
async def get_request(request_id: str, request: Request, staff: Reader, why: Why) -> dict[str, Any]:
    """One request: its history, due_at, status, breached."""
    role = await request_access(request, staff, request_id)
    async with connection(request) as conn:
        detail = await worklist.request_detail(conn, request_id)
    if detail is None:
        raise Problem(404, "Unknown request", f"no request with id {request_id}")
    await record(request, staff, why, "verzoek raadplegen", {detail["customer_key"]: role})
    return detail


async def request_access(request: Request, staff: Staff, request_id: str) -> str:
    """The role that covers this request; 404 when unknown, 403 when no role covers it."""
    async with connection(request) as conn:
        departments, overdue = await worklist.scope(conn, request_id=request_id)
    if not departments:
        raise Problem(404, "Unknown request", f"no request with id {request_id}")
    role = policy.request_role(staff, departments[0], overdue)
    if role is None:
        raise Problem(403, "Forbidden", "your role does not cover this request")
    return role


LifecycleType = Literal[
    "acknowledged",
    "interim-update",
    "answered",
    "resolved",
    "reopened",
    "suspended",
    "resumed",
    "extended",
    "withdrawn",
]


class RequestAction(BaseModel):
    """A staff action on a request; published as the matching request event. Who acted is
    the caller's token (its subject and department), never the body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: LifecycleType
    actor: Annotated[
        Actor | None,
        Field(
            deprecated=True,
            description="ignored: the actor is taken from the bearer token (kept so that "
            "older clients that send it are not refused)",
        ),
    ] = None
    note: Annotated[str, Field(max_length=20_000)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    extension: IsoDuration | None = None


@router.post("/requests/{request_id}/events", status_code=202)
async def post_request_event(
    request_id: str,
    action: RequestAction,
    request: Request,
    staff: Reader,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Publish a lifecycle event keyed by the request's customer (same partition, in order).
    Send an `Idempotency-Key` header to make a retry count once."""
    event = await publish_step(request, staff, request_id, action, idempotency_key)
    return JSONResponse(
        {"id": event.id, "customer_key": event.subject, "type": event.type.value},
        status_code=202,
    )


async def publish_step(
    request: Request,
    staff: Staff,
    request_id: str,
    action: RequestAction,
    idempotency_key: str | None,
) -> Envelope:
    """Check the caller's role on the request (403/404), build the lifecycle event with the
    caller as actor (422 for fields the event refuses) and publish it; the same key makes
    the same event id, so a retry counts once. For the API and the staff pages alike."""
    await request_access(request, staff, request_id)
    async with connection(request) as conn:
        owner = await worklist.owner(conn, request_id)
    if owner is None:
        raise Problem(404, "Unknown request", f"no request with id {request_id}")
    event_type = EventType(f"nl.contactmoment.request.{action.type}.v1")
    fields: dict[str, Any] = {"request_id": request_id, "actor": actor_of(staff)}
    if action.type == "interim-update":
        fields["note"] = _redacted(action.note)
    if action.type == "reopened":
        fields["reason"] = _redacted(action.reason or action.note)
    if action.type == "extended":
        fields["extension"] = action.extension
    try:
        data = DATA_MODELS[event_type].model_validate(fields)
    except ValidationError as exc:
        raise validation_problem(field_errors(exc)) from None
    event = new_event(
        event_type,
        source="urn:contactmoment:staff",
        source_id=f"{request_id}:{idempotency_key or uuid.uuid4()}",
        subject=owner,
        time=datetime.now(UTC),
        data=data,
    )
    # A Kafka or key-store failure is answered by services/api/problems.py from its flags.
    await services(request).ingest.publish([event])
    return event


def actor_of(staff: Staff) -> Actor:
    """The actor of a staff action: the token's subject and department (the event's Actor
    has no role field; the role that granted the action is checked by `request_access`)."""
    return Actor(kind="employee", id=staff.subject, department=staff.department)


def _redacted(text: str | None) -> str | None:
    return None if text is None else redact_bsns(text)


KPI_RANGE_YEARS = 5
KPI_RANGE_MAX = timedelta(days=365 * KPI_RANGE_YEARS + 2)  # five years, leap days included


@router.get("/kpis")
async def get_kpis(
    request: Request,
    staff: Reader,
    start: Annotated[
        datetime | None, Query(alias="from", description="RFC 3339; default: 30 days ago")
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="RFC 3339; default: now")] = None,
) -> dict[str, Any]:
    """The KPIs of the four service principles over [from, to) (definitions: docs/kpis.md)."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise validation_problem([{"field": "from/to", "problem": "give a UTC offset, e.g. Z"}])
    if start >= end:
        raise validation_problem([{"field": "from", "problem": "must be before `to`"}])
    if end - start > KPI_RANGE_MAX:
        raise validation_problem(
            [
                {
                    "field": "from/to",
                    "problem": f"the range is at most {KPI_RANGE_YEARS} years"
                    f" ({KPI_RANGE_MAX.days} days); ask for one period at a time",
                }
            ]
        )
    async with connection(request) as conn:
        return await kpis.compute(conn, services(request).catalogue, start, end)
