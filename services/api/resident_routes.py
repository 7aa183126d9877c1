"""The resident's own view (AVG art. 15): `/v1/me…`, with the portal's resident token.

A resident sees their own data and that of the keys linked to them, never anyone else's:
an e-mail or phone key only when it is theirs alone and a channel verified it is theirs (a
typed contact address proves nothing; docs/privacy.md). Left out: the staff's internal
notes (call notes, message summaries, who handled it, the vulnerability flag). Who looked
at their data shows as role, department and purpose, never as a staff member's name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from schemas.identifiers import IdentifierKind
from schemas.keys import key_of
from services.api.auth import Resident, current_resident
from services.api.database import connection
from services.api.problems import validation_problem
from services.api.state import services
from services.readmodel import customers, resident
from services.readmodel.customers import Cluster

router = APIRouter(prefix="/v1/me", tags=["resident"])
Me = Annotated[Resident, Depends(current_resident)]

REQUESTS_PAGE = 200
# Who looked, as the resident sees it: never the staff member's own id.
ACCESS_FIELDS = ("occurred_at", "name", "role", "department", "purpose", "processing_activity")
REQUEST_FIELDS = (
    "request_id",
    "request_type",
    "subject",
    "channel",
    "department",
    "opened_at",
    "status",
    "acknowledged_at",
    "answered_at",
    "closed_at",
    "due_at",
    "breached",
)


async def my_cluster(request: Request, me: Resident) -> Cluster:
    """The resident's keys: their BSN key and the verified links to it (none yet: an empty
    view); unverified and shared links are withheld."""
    pseudonyms = services(request).pseudonymiser
    key = key_of(pseudonyms.identifier(IdentifierKind.BSN, me.bsn).hash)
    async with connection(request) as conn:
        group = await customers.cluster(conn, key)
    return (group or Cluster(key, [key])).verified()


def _only(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: item.get(name) for name in fields}


async def about(conn: Any, group: Cluster) -> dict[str, Any]:
    summary = await customers.summary(conn, group)
    summary.pop("linked_keys", None)
    # Whether others carry the same number is about those others: staff see it, not you.
    summary["identifiers"] = [
        {k: v for k, v in i.items() if k != "shared"} for i in summary["identifiers"]
    ]
    # Contacts by an e-mail or phone not (yet) confirmed as yours, or shared, are left out.
    summary["some_contacts_not_shown"] = bool(group.withheld)
    summary["open_requests"] = [_only(r, REQUEST_FIELDS) for r in summary["open_requests"]]
    return summary


async def my_requests(
    conn: Any, group: Cluster, limit: int = REQUESTS_PAGE, after: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the resident's requests (the soonest due first) and the next cursor."""
    items, cursor = await _page(resident.requests(conn, group.keys, limit, after), "after")
    return [_only(r, REQUEST_FIELDS) for r in items], cursor


async def my_access_log(
    conn: Any, group: Cluster, limit: int, before: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of who looked at the resident's data (newest first) and the next cursor."""
    items, cursor = await _page(resident.access_log(conn, group.keys, limit, before), "before")
    return [_only(r, ACCESS_FIELDS) for r in items], cursor


async def _page(read: Any, field: str) -> Any:
    try:
        return await read
    except customers.BadCursor:
        raise validation_problem(
            [{"field": field, "problem": "not a cursor from this API"}]
        ) from None


async def my_timeline(
    conn: Any,
    group: Cluster,
    limit: int,
    before: str | None,
    event_types: list[str] | None = None,
) -> dict[str, Any]:
    try:
        return await resident.timeline(conn, group.keys, limit, before, event_types)
    except customers.BadCursor:
        raise validation_problem(
            [{"field": "before", "problem": "not a cursor from this API"}]
        ) from None


EXPORT_PAGE = 2000  # rows per read while the export streams


async def export_response(request: Request, group: Cluster, headers: dict[str, str]) -> Response:
    """The inzage document (AVG art. 15 and 20): /v1/me/export and the page's download.

    It is streamed: the summary and the first page of each list are read before the answer
    starts (so an unreachable read model is a 503, not a broken download), then each list
    is read and sent a page at a time with its keyset cursor, each page on a connection of
    its own; the whole history is never held in memory."""
    async with connection(request) as conn:
        head = {
            "format": "contactmoment-inzage/v1",
            "generated_at": datetime.now(UTC).isoformat(),
            "about_you": await about(conn, group),
        }
        timeline = await my_timeline(conn, group, EXPORT_PAGE, None)
        requests = await my_requests(conn, group, EXPORT_PAGE)
        views = await my_access_log(conn, group, EXPORT_PAGE)

    async def more_timeline(cursor: str) -> tuple[list[dict[str, Any]], str | None]:
        async with connection(request) as conn:
            page = await my_timeline(conn, group, EXPORT_PAGE, cursor)
        return page["items"], page["next"]

    async def more_requests(cursor: str) -> tuple[list[dict[str, Any]], str | None]:
        async with connection(request) as conn:
            return await my_requests(conn, group, EXPORT_PAGE, cursor)

    async def more_views(cursor: str) -> tuple[list[dict[str, Any]], str | None]:
        async with connection(request) as conn:
            return await my_access_log(conn, group, EXPORT_PAGE, cursor)

    async def body() -> AsyncIterator[bytes]:
        yield _json(head)[:-1]
        lists = (
            ("timeline", (timeline["items"], timeline["next"]), more_timeline),
            ("requests", requests, more_requests),
            ("access_log", views, more_views),
        )
        for name, (items, cursor), more in lists:
            yield b", " + _json(name) + b": ["
            first = True
            while True:
                if items:
                    # One encoder call per page of rows, not one per row.
                    yield (b"" if first else b",") + _json(items)[1:-1]
                    first = False
                if cursor is None:
                    break
                items, cursor = await more(cursor)
            yield b"]"
        yield b"}"

    return StreamingResponse(body(), media_type="application/json", headers=headers)


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


EXPORT_HEADERS = {"Content-Disposition": 'attachment; filename="mijn-gegevens.json"'}


@router.get("")
async def get_me(request: Request, me: Me) -> dict[str, Any]:
    """What the municipality knows about you: identifiers (masked), contacts, open requests."""
    group = await my_cluster(request, me)
    async with connection(request) as conn:
        return await about(conn, group)


@router.get("/timeline")
async def get_my_timeline(
    request: Request,
    me: Me,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[str | None, Query(description="the `next` of the previous page")] = None,
) -> dict[str, Any]:
    """Your contacts and requests, newest first."""
    group = await my_cluster(request, me)
    async with connection(request) as conn:
        return await my_timeline(conn, group, limit, before)


@router.get("/requests")
async def get_my_requests(
    request: Request,
    me: Me,
    limit: Annotated[int, Query(ge=1, le=1000)] = REQUESTS_PAGE,
    after: Annotated[str | None, Query(description="the `next` of the previous page")] = None,
) -> dict[str, Any]:
    """Your requests, the soonest due first, with their status and when an answer is due."""
    group = await my_cluster(request, me)
    async with connection(request) as conn:
        items, cursor = await my_requests(conn, group, limit, after)
    return {"items": items, "next": cursor}


@router.get("/access-log")
async def get_my_access_log(
    request: Request,
    me: Me,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before: Annotated[str | None, Query(description="the `next` of the previous page")] = None,
) -> dict[str, Any]:
    """Who looked at your data, newest first: when, which role and department, and why (no
    names)."""
    group = await my_cluster(request, me)
    async with connection(request) as conn:
        items, cursor = await my_access_log(conn, group, limit, before)
    return {"items": items, "next": cursor}


@router.get("/export")
async def get_my_export(request: Request, me: Me) -> Response:
    """Everything above in one machine-readable document (AVG art. 15 and 20), streamed."""
    group = await my_cluster(request, me)
    return await export_response(request, group, EXPORT_HEADERS)
