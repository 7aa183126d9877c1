"""The staff worklists, server-rendered in Dutch: /ui/werkvoorraad (the requests still to be
done, or closed, in due order, with filters and pages) and /ui/regie (the regieteam's
overdue, breached and escalated requests, how long past due, and each customer's last
contacts).

Both are GET pages: their filters (status, department, request type, page) are no personal
data, so a bookmark or the history may keep them. Each customer listed is recorded in the
access log, under the processing activity the page serves (as GET /v1/requests records its
customers): `klantcontact` for the worklist, `regie` for the regieteam's page. Who sees what
is services/api/policy.py's `worklist` rule, the same as the API's: a department role sees
its own department (and gets it as the default filter), the regieteam the overdue list.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.api import policy
from services.api.access import record, resolve
from services.api.auth import Staff, signed_in
from services.api.browser import signed_in_token
from services.api.database import connection
from services.api.problems import Problem, kafka_problem
from services.api.state import services
from services.api.ui_common import COOKIE, REQUEST_TYPES, render
from services.kafka.errors import KafkaAdapterError
from services.readmodel import regie, worklist
from services.settings import DEPARTMENT_MAX

router = APIRouter(prefix="/ui", include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 200  # 10,000 rows deep: past that a filter finds it sooner than paging does
STATUS_CHOICES = {"open": "Open", "overdue": "Te laat", "closed": "Gesloten"}
NO_STORE = {"Cache-Control": "no-store"}  # the page lists customers: not kept in a cache


class BadFilter(ValueError):
    """A filter value the page does not offer; the message names the field, in Dutch."""


def overdue_for(delta: timedelta) -> str:
    """How long past due, in Dutch and coarse enough to read at a glance."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} {'dag' if days == 1 else 'dagen'}, {hours} uur"
    if hours:
        return f"{hours} uur, {minutes} min."
    if minutes:
        return f"{minutes} min."
    return f"{seconds} s"


def is_overdue(item: dict[str, Any], now: datetime) -> bool:
    """The worklist's one meaning of overdue (services/readmodel/worklist.py), for a row."""
    if item["status"] not in worklist.OPEN_STATUSES:
        return False
    due = item["due_at"]
    return bool(item["breached"]) or (due is not None and datetime.fromisoformat(due) < now)


def parse_filters(query: dict[str, str], staff: Staff) -> dict[str, Any]:
    """The page's filters from its query; BadFilter names a value it does not offer.
    The department role's default department is its own."""
    status = query.get("status") or "open"
    if status not in STATUS_CHOICES:
        raise BadFilter(f"Status: kies uit {', '.join(STATUS_CHOICES)}.")
    kind = query.get("soort") or None
    if kind is not None and kind not in REQUEST_TYPES:
        raise BadFilter(f"Soort verzoek: kies uit {', '.join(REQUEST_TYPES)}.")
    department = (query.get("afdeling") or "").strip() or None
    if "afdeling" not in query and "department" in staff.roles and "kcc" not in staff.roles:
        department = staff.department
    if department is not None and len(department) > DEPARTMENT_MAX:
        raise BadFilter(f"Afdeling: ten hoogste {DEPARTMENT_MAX} tekens.")
    raw_page = query.get("pagina") or "1"
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
        raise BadFilter(f"Pagina: een getal van 1 tot en met {MAX_PAGE}.")
    return {"status": status, "soort": kind, "afdeling": department, "pagina": int(raw_page)}


REFUSALS = {
    "department": "Met de rol afdeling ziet u alleen de verzoeken van uw eigen afdeling ({}).",
    "regieteam": "Met de rol regieteam ziet u de verzoeken die te laat zijn: kies status Te laat.",
}


def _refusal(staff: Staff, reason: str) -> str:
    """The policy's refusal, said in Dutch for the page."""
    if reason.startswith("the department role"):
        return REFUSALS["department"].format(staff.department or "")
    if reason.startswith("the regieteam role"):
        return REFUSALS["regieteam"]
    return "Voor de werkvoorraad is de rol kcc, afdeling of regieteam nodig."


def page_link(path: str, filters: dict[str, Any], page: int) -> str:
    """A page's address with the same filters; only filters, never personal data."""
    query = {k: v for k, v in filters.items() if v and k != "pagina"}
    query["pagina"] = page
    return f"{path}?{urlencode(query)}"


async def _signed_in_staff(request: Request) -> Staff | None:
    who = await signed_in(request, signed_in_token(request, COOKIE))
    return who if isinstance(who, Staff) else None


def _to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/login?next={quote(path)}", status_code=303)


def _timed(response: Response, started: float) -> Response:
    """Server time in the response (Server-Timing, readable in the browser's tools)."""
    response.headers.append(
        "Server-Timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    )
    response.headers.update(NO_STORE)
    return response


async def _page_or_problem(request: Request, build: Any) -> Response:
    """A page, or the staff pages' 503 page when the access record cannot be written."""
    try:
        try:
            response: Response = await build()
            return response
        except KafkaAdapterError as exc:  # the access record was not taken: no page
            raise kafka_problem(exc) from None
    except Problem as problem:
        if problem.status >= 500:
            unavailable = render("unavailable.html", problem.status)
            unavailable.headers.update(problem.headers)
            return unavailable
        raise


@router.get("/werkvoorraad")
async def werkvoorraad(request: Request) -> Response:
    started = time.perf_counter()
    staff = await _signed_in_staff(request)
    if staff is None:
        return _to_login("/ui/werkvoorraad")
    query = dict(request.query_params)
    choices = services(request).settings.department_choices

    async def build() -> Response:
        try:
            filters = parse_filters(query, staff)
        except BadFilter as exc:
            return _worklist_page(staff, None, [], False, 400, str(exc), departments=choices)
        scope = policy.worklist(staff, filters["status"], filters["afdeling"])
        if isinstance(scope, str):
            return _worklist_page(
                staff, filters, [], False, 403, _refusal(staff, scope), departments=choices
            )
        role, department = scope
        statuses = (
            worklist.CLOSED_STATUSES if filters["status"] == "closed" else worklist.OPEN_STATUSES
        )
        async with connection(request) as conn:
            items = await worklist.requests(
                conn,
                statuses=statuses,
                overdue=filters["status"] == "overdue",
                department=department,
                request_type=filters["soort"],
                limit=PAGE_SIZE + 1,
                offset=(filters["pagina"] - 1) * PAGE_SIZE,
            )
        more = len(items) > PAGE_SIZE
        items = items[:PAGE_SIZE]
        why = resolve(services(request).activities, "klantcontact")
        listed = {item["customer_key"]: role for item in items}
        await record(request, staff, why, "werkvoorraad (medewerkerspagina)", listed)
        return _worklist_page(staff, filters, items, more, departments=choices)

    return _timed(await _page_or_problem(request, build), started)


def _worklist_page(
    staff: Staff,
    filters: dict[str, Any] | None,
    items: list[dict[str, Any]],
    more: bool,
    status: int = 200,
    error: str | None = None,
    departments: tuple[str, ...] = (),
) -> Response:
    now = datetime.now(UTC)
    shown = filters or {"status": "open", "soort": None, "afdeling": None, "pagina": 1}
    for item in items:
        item["overdue"] = is_overdue(item, now)
    page = shown["pagina"]
    return render(
        "werkvoorraad.html",
        status,
        current="werkvoorraad",
        departments=departments,
        items=items,
        filters=shown,
        error=error,
        staff=staff,
        status_choices=STATUS_CHOICES,
        previous=page_link("/ui/werkvoorraad", shown, page - 1) if page > 1 else None,
        next=page_link("/ui/werkvoorraad", shown, page + 1) if more else None,
        first_row=(page - 1) * PAGE_SIZE + 1,
    )


@router.get("/regie")
async def regie_page(request: Request) -> Response:
    started = time.perf_counter()
    staff = await _signed_in_staff(request)
    if staff is None:
        return _to_login("/ui/regie")
    query = dict(request.query_params)
    choices = services(request).settings.department_choices

    async def build() -> Response:
        try:
            filters = parse_filters({**query, "status": "overdue"}, staff)
        except BadFilter as exc:
            return _regie_page(None, [], {}, False, 400, str(exc), departments=choices)
        scope = policy.worklist(staff, "overdue", filters["afdeling"])
        if isinstance(scope, str):
            return _regie_page(
                filters, [], {}, False, 403, _refusal(staff, scope), departments=choices
            )
        role, department = scope
        async with connection(request) as conn:
            items = await worklist.requests(
                conn,
                statuses=worklist.OPEN_STATUSES,
                overdue=True,
                department=department,
                request_type=filters["soort"],
                limit=PAGE_SIZE + 1,
                offset=(filters["pagina"] - 1) * PAGE_SIZE,
            )
            more = len(items) > PAGE_SIZE
            items = items[:PAGE_SIZE]
            escalated = await regie.escalated(conn, [i["request_id"] for i in items])
            contacts = await regie.recent_contacts(conn, [i["customer_key"] for i in items])
        for item in items:
            item["escalated"] = item["request_id"] in escalated
        why = resolve(services(request).activities, "regie")
        listed = {item["customer_key"]: role for item in items}
        await record(request, staff, why, "regie (medewerkerspagina)", listed)
        return _regie_page(filters, items, contacts, more, departments=choices)

    return _timed(await _page_or_problem(request, build), started)


def _regie_page(
    filters: dict[str, Any] | None,
    items: list[dict[str, Any]],
    contacts: dict[str, list[dict[str, Any]]],
    more: bool,
    status: int = 200,
    error: str | None = None,
    departments: tuple[str, ...] = (),
) -> Response:
    now = datetime.now(UTC)
    shown = filters or {"status": "overdue", "soort": None, "afdeling": None, "pagina": 1}
    for item in items:
        due = item["due_at"]
        item["past_due"] = overdue_for(now - datetime.fromisoformat(due)) if due else None
    page = shown["pagina"]
    links = {k: v for k, v in shown.items() if k != "status"}
    return render(
        "regie.html",
        status,
        current="regie",
        departments=departments,
        items=items,
        contacts=contacts,
        filters=shown,
        error=error,
        previous=page_link("/ui/regie", links, page - 1) if page > 1 else None,
        next=page_link("/ui/regie", links, page + 1) if more else None,
    )
