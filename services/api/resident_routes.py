"""The resident's own view (AVG art. 15): `/v1/me…`, with the portal's resident token.

A resident sees their own data and that of the keys linked to them, never anyone else's:
an e-mail or phone key only when it is theirs alone and a channel verified it is theirs (a
typed contact address proves nothing; docs/privacy.md). Left out: the staff's internal
notes (call notes, message summaries, who handled it, the vulnerability flag). Who looked
at their data shows as role, department and purpose, never as a staff member's name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from schemas.identifiers import IdentifierKind
from schemas.keys import key_of
from services.api.auth import Resident, current_resident
from services.api.database import connection
from services.api.staff_routes import timeline_page
from services.api.state import services
from services.readmodel import access_log, customers, worklist
from services.readmodel.customers import Cluster

router = APIRouter(prefix="/v1/me", tags=["resident"])
Me = Annotated[Resident, Depends(current_resident)]

TIMELINE_FIELDS = (
    "event_id",
    "type",
    "occurred_at",
    "channel",
    "direction",
    "subject",
    "outcome",
    "request_id",
)
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
    # Contacts by an e-mail or phone not (yet) confirmed as yours, or shared, are left out.
    summary["some_contacts_not_shown"] = bool(group.withheld)
    summary["open_requests"] = [_only(r, REQUEST_FIELDS) for r in summary["open_requests"]]
    return summary


async def my_requests(conn: Any, group: Cluster) -> list[dict[str, Any]]:
    rows = await worklist.requests(conn, customer_keys=group.keys, limit=10_000)
    return [_only(r, REQUEST_FIELDS) for r in rows]


async def my_access_log(conn: Any, group: Cluster, limit: int) -> list[dict[str, Any]]:
    rows = await access_log.entries(conn, customer_keys=group.keys, limit=limit)
    return [_only(r, ACCESS_FIELDS) for r in rows]


async def my_timeline(conn: Any, group: Cluster, limit: int, before: str | None) -> dict[str, Any]:
    page = await timeline_page(conn, group, limit, before)
    return {"items": [_only(i, TIMELINE_FIELDS) for i in page["items"]], "next": page["next"]}


async def full_timeline(conn: Any, group: Cluster) -> list[dict[str, Any]]:
    """Every item of the resident's timeline, newest first, in one read."""
    page = await customers.timeline(conn, group, None, None)
    return [_only(i, TIMELINE_FIELDS) for i in page["items"]]


async def export_document(conn: Any, group: Cluster) -> dict[str, Any]:
    """The inzage document (AVG art. 15 and 20): /v1/me/export and the page's download."""
    return {
        "format": "contactmoment-inzage/v1",
        "generated_at": datetime.now(UTC).isoformat(),
        "about_you": await about(conn, group),
        "timeline": await full_timeline(conn, group),
        "requests": await my_requests(conn, group),
        "access_log": await my_access_log(conn, group, 100_000),
    }


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
async def get_my_requests(request: Request, me: Me) -> dict[str, Any]:
    """All your requests, with their status and when an answer is due."""
    group = await my_cluster(request, me)
    async with connection(request) as conn:
        return {"items": await my_requests(conn, group)}


@router.get("/access-log")
async def get_my_access_log(
    request: Request, me: Me, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict[str, Any]:
    """Who looked at your data: when, which role and department, and why (no names)."""
    group = await my_cluster(request, me)
    async with connection(request) as conn:
        return {"items": await my_access_log(conn, group, limit)}


@router.get("/export")
async def get_my_export(request: Request, me: Me) -> JSONResponse:
    """Everything above in one machine-readable document (AVG art. 15 and 20)."""
    group = await my_cluster(request, me)
    async with connection(request) as conn:
        document = await export_document(conn, group)
    return JSONResponse(document, headers=EXPORT_HEADERS)
