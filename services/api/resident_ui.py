"""The resident's own page (`/ui/mijn`): what the municipality knows about you, in Dutch.

The portal of Mijn Gemeente signs the resident in with DigiD and hands over its resident
token by posting it to /ui/mijn/login (only the portal's origin and our own may post it:
services/api/browser.py); the page keeps it in a `__Host-`, Secure, HttpOnly, SameSite=Strict
cookie (never in a URL, never echoed in a page). The page shows what
/v1/me shows, through the same reads (services/api/resident_routes.py): no staff notes, and
who looked at your data only as role, department and purpose, never as a name.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from schemas.events import EventType
from services.api import csrf
from services.api.auth import Resident, signed_in
from services.api.body import read_limited
from services.api.browser import (
    drop_sign_in,
    normalised,
    own_origin,
    request_origin,
    same_origin,
    set_sign_in,
    signed_in_token,
)
from services.api.database import connection
from services.api.problems import Problem
from services.api.resident_routes import (
    EXPORT_HEADERS,
    about,
    export_response,
    my_access_log,
    my_cluster,
    my_requests,
    my_timeline,
)
from services.api.state import services
from services.api.ui import render

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ui/mijn", include_in_schema=False)
COOKIE = "contactmoment_mijn"  # `__Host-contactmoment_mijn` unless cookies are insecure
PATH = "/ui/mijn"
LOGIN = f"{PATH}/login"
# Rows per table; each table has its own "older" link that carries only a cursor (a
# position in the list, no personal data), the download has everything.
CONTACT_ROWS = 50
REQUEST_ROWS = 50
ACCESS_ROWS = 50
NO_STORE = {"Cache-Control": "no-store"}

# Seen from the resident: who started the contact (ui.DIRECTIONS is the staff's view).
MY_DIRECTIONS = {"inbound": "U", "outbound": "De gemeente"}
ROLES = {
    "kcc": "Klantcontactcentrum",
    "department": "Medewerker van een afdeling",
    "regieteam": "Regieteam (let op termijnen)",
}
REFUSED = "Dit toegangsbewijs is niet (meer) geldig. Log opnieuw in via Mijn Gemeente met DigiD."
EXPIRED = "U bent uitgelogd, omdat uw toegang is verlopen. Log opnieuw in via Mijn Gemeente."
FOREIGN = "Inloggen kan alleen via Mijn Gemeente. Ga naar Mijn Gemeente en log in met DigiD."
UNAVAILABLE = "Inloggen lukt nu even niet. Probeer het over een paar minuten opnieuw."


async def _resident(token: str, request: Request) -> Resident | None:
    """The resident behind a token, or None when it does not sign a resident in."""
    who = await signed_in(request, token)
    return who if isinstance(who, Resident) else None


def _login_page(
    request: Request, status: int = 200, error: str | None = None, notice: str | None = None
) -> Response:
    """The login form, with a CSRF token bound to the visitor's anonymous cookie (as the
    staff login's); an answer to another site's post sets no cookie at all."""
    binding = "" if error == FOREIGN else csrf.anonymous_binding(request)
    response = render(
        "mijn_login.html",
        status=status,
        error=error,
        notice=notice,
        csrf=csrf.make(request, binding),
    )
    if binding:
        csrf.keep_anonymous(request, response, binding)
    response.headers.update(NO_STORE)
    return response


def _to_login(request: Request) -> Response:
    """Back to the login; a cookie that no longer signs anyone in is dropped."""
    expired = bool(signed_in_token(request, COOKIE))
    response = RedirectResponse(f"{LOGIN}?verlopen=1" if expired else LOGIN, status_code=303)
    if expired:
        drop_sign_in(request, response, COOKIE)
    return response


@router.get("/login")
async def login_form(request: Request, verlopen: bool = False) -> Response:
    return _login_page(request, notice=EXPIRED if verlopen else None)


@router.post("/login")
async def login(request: Request) -> Response:
    portals = frozenset(filter(None, map(normalised, services(request).settings.portals)))
    if not same_origin(request, portals):
        # Only the portal (or this page) may sign a resident in: another site posting a
        # token of its own would sign the visitor in as someone else (login CSRF).
        log.warning("resident login posted from another site refused: %s", request_origin(request))
        return _login_page(request, 403, FOREIGN)
    form = parse_qs((await read_limited(request, 16_384)).decode(errors="replace"))
    token = form.get("token", [""])[0].strip()
    own_page = request_origin(request) == own_origin(request)
    # The form on this page carries a token; the portal's auto-post cannot know it, and
    # its configured origin (checked above) is what lets it in.
    if own_page and not csrf.valid(request, form, cookie=csrf.ANONYMOUS_COOKIE):
        return _login_page(request, 403, csrf.REFUSED)
    if not token:
        return _login_page(request, 401, REFUSED)
    try:
        who = await services(request).auth.principal(token)
    except Problem as problem:
        if problem.status == 503:  # the issuer's keys cannot be fetched: not the token's fault
            return _login_page(request, 503, UNAVAILABLE)
        return _login_page(request, 401, REFUSED)
    if not isinstance(who, Resident):  # a staff token opens the staff page, not this one
        return _login_page(request, 401, REFUSED)
    if not own_page:
        # The portal's auto-post: a redirect would carry on the cross-site navigation, which
        # does not send a SameSite=Strict cookie; a page of ours that moves on does.
        response: Response = render("mijn_verder.html")
        response.headers.update(NO_STORE)
    else:
        response = RedirectResponse(PATH, status_code=303)
    set_sign_in(request, response, COOKIE, token)
    return response


@router.get("/logout")
async def logout(request: Request) -> Response:
    response = RedirectResponse(LOGIN, status_code=303)
    drop_sign_in(request, response, COOKIE)
    return response


@router.get("")
async def my_page(
    request: Request,
    contacten: str | None = None,
    verzoeken: str | None = None,
    bekeken: str | None = None,
) -> Response:
    """The page; `contacten`, `verzoeken`, `bekeken`: the cursor of an older page of that
    table (the others show their first page)."""
    me = await _resident(signed_in_token(request, COOKIE), request)
    if me is None:
        return _to_login(request)
    group = await my_cluster(request, me)
    async with connection(request) as conn:
        summary = await about(conn, group)
        contacts = await my_timeline(
            conn, group, CONTACT_ROWS, contacten or None, [EventType.CONTACT_RECORDED.value]
        )
        requests, more_requests = await my_requests(conn, group, REQUEST_ROWS, verzoeken or None)
        views, more_views = await my_access_log(conn, group, ACCESS_ROWS, bekeken or None)
    now = datetime.now(UTC)
    response = render(
        "mijn.html",
        about=summary,
        contacts=contacts["items"],
        requests=[{**r, "late": _late(r, now)} for r in requests],
        views=views,
        paged=bool(contacten or verzoeken or bekeken),
        older={
            "contacten": _older("contacten", contacts["next"]),
            "verzoeken": _older("verzoeken", more_requests),
            "bekeken": _older("bekeken", more_views),
        },
        MY_DIRECTIONS=MY_DIRECTIONS,
        ROLES=ROLES,
    )
    response.headers.update(NO_STORE)
    return response


def _older(table: str, cursor: str | None) -> str | None:
    """The address of the next page of one table: the page's path and a cursor only."""
    return f"{PATH}?{urlencode({table: cursor})}#{table}" if cursor else None


@router.get("/export")
async def my_export(request: Request) -> Response:
    """The same document as /v1/me/export, as a download."""
    me = await _resident(signed_in_token(request, COOKIE), request)
    if me is None:
        return _to_login(request)
    group = await my_cluster(request, me)
    return await export_response(request, group, {**EXPORT_HEADERS, **NO_STORE})


def _late(item: dict[str, Any], now: datetime) -> bool:
    """Answered after its deadline (the clock signalled it), or still open past it."""
    if item.get("breached"):
        return True
    due = item.get("due_at")
    still_open = item.get("status") in ("open", "suspended")
    return bool(still_open and due and datetime.fromisoformat(due) < now)
