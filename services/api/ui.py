"""The staff pages (/ui), server-rendered, in Dutch: login here, the pages in their own
modules (ui_search.py, ui_customer.py, ui_actions.py, ui_contact.py), all on this router.

Browsers cannot send a bearer header, so the pages take a staff token (the issuer's JWT, or
the development token where enabled) once through a login form posted from this site
(services/api/browser.py checks its origin) and keep it in a `__Host-`, Secure, HttpOnly,
SameSite=Strict cookie (never in a URL). Every form carries a CSRF token
(services/api/csrf.py). Like the API, a customer page needs a role that covers the customer
and a purpose, and each view is recorded in the access log.

Identifiers and the purpose are posted, never sent in a query: they are personal data (a
purpose is free text that may name a person), and a URL stays in the browser's history and
in every proxy's log. The only personal datum in a /ui address is a customer key.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.api import csrf, ui_actions, ui_contact, ui_customer, ui_search
from services.api.auth import Staff, signed_in
from services.api.browser import same_origin, set_sign_in
from services.api.ui_common import (
    AMSTERDAM,
    COOKIE,
    REQUEST_TYPES,
    read_form,
    render,
)

__all__ = ["AMSTERDAM", "COOKIE", "REQUEST_TYPES", "render", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
FOREIGN = "Inloggen kan alleen met het formulier op deze pagina. Vul uw toegangscode hier in."


def _login_page(
    request: Request, next: str, status: int = 200, error: str | None = None
) -> HTMLResponse:
    """The login form, with a CSRF token bound to the visitor's (anonymous) cookie. An
    answer to another site's post sets no cookie at all (the form there is not ours)."""
    foreign = status == 403 and error == FOREIGN
    binding = "" if foreign else csrf.anonymous_binding(request)
    response = render(
        "login.html", status, next=next, error=error, csrf=csrf.make(request, binding)
    )
    if binding:
        csrf.keep_anonymous(request, response, binding)
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/ui/") -> HTMLResponse:
    return _login_page(request, _safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    if not same_origin(request):
        # Another site posting a token would sign the visitor in as someone else.
        return _login_page(request, "/ui/", 403, FOREIGN)
    form = await read_form(request)
    token = form.get("token", [""])[0].strip()
    target = _safe_next(form.get("next", ["/ui/"])[0])
    if not csrf.valid(request, form, cookie=csrf.ANONYMOUS_COOKIE):
        return _login_page(request, target, 403, csrf.REFUSED)
    who = await signed_in(request, token)
    if not isinstance(who, Staff):
        return _login_page(request, target, 401, "Deze toegangscode klopt niet.")
    response = RedirectResponse(target, status_code=303)
    set_sign_in(request, response, COOKIE, token)
    return response


def _safe_next(target: str) -> str:
    """Only paths on this site: a login must never redirect elsewhere."""
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/"


for _pages in (ui_search, ui_customer, ui_actions, ui_contact):
    router.include_router(_pages.router)
