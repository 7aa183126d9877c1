"""CSRF tokens for every /ui form.

The origin check (services/api/browser.py) already refuses a form posted from another site;
the token is the second lock, for a browser or proxy that drops Origin and Referer, and it
makes a form that was rendered for one sign-in useless after the member of staff signs in
again (a stale page is refused with a message rather than acted on).

The token is stateless: an HMAC, under a key derived from the deployment's pseudonym key
(a separate purpose string, so the two uses never share a value), of a hash of the sign-in
cookie. Every API replica computes the same token, nothing is stored, and a token is only
worth something together with the cookie it was made for (which another site cannot read).
Before anyone is signed in (the login form) the token binds to a random `csrf` cookie
instead, set with the form.

In a route::

    from services.api import csrf

    @router.get("/ui/iets")
    async def page(request: Request) -> Response:
        ...
        return render("iets.html", csrf=csrf.token(request))

    @router.post("/ui/iets")
    async def act(request: Request) -> Response:
        form = parse_qs((await read_limited(request, FORM_BYTES)).decode(errors="replace"))
        if not csrf.valid(request, form):
            return render("iets.html", status=403, error=csrf.REFUSED, csrf=csrf.token(request))
        ...

In a template (every `method="post"` form; `csrf_field` is a global of the /ui templates)::

    <form method="post" action="/ui/iets">
      {{ csrf_field(csrf) }}
      ...
    </form>

Check the sign-in first (an expired session goes to the login page, not to this refusal),
then the token, then act.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from services.api.browser import cookie_name, signed_in_token
from services.api.state import services

FIELD = "csrf"  # the hidden field's name
SIGN_IN_COOKIE = "contactmoment_token"  # the staff pages' sign-in cookie (services/api/ui.py)
ANONYMOUS_COOKIE = "contactmoment_csrf"  # binds the login form before there is a sign-in
PURPOSE = b"contactmoment /ui csrf v1"
REFUSED = (
    "Dit formulier is verlopen of komt niet van deze pagina. Er is niets opgeslagen. "
    "Laad de pagina opnieuw en probeer het nog een keer."
)


def _binding(request: Request, cookie: str) -> str:
    """What a token is bound to: the sign-in cookie, else the anonymous one ("" if none)."""
    return signed_in_token(request, cookie) or signed_in_token(request, ANONYMOUS_COOKIE)


def make(request: Request, binding: str) -> str:
    """The token for `binding` (a cookie value); "" for no binding (nothing can match it)."""
    if not binding:
        return ""
    key = services(request).pseudonymiser.derived_key(PURPOSE)
    digest = hashlib.sha256(binding.encode()).digest()
    return hmac.new(key, digest, hashlib.sha256).hexdigest()


def token(request: Request, cookie: str = SIGN_IN_COOKIE) -> str:
    """The token for the forms of a page rendered for this request's sign-in."""
    return make(request, _binding(request, cookie))


def valid(request: Request, form: dict[str, list[str]], cookie: str = SIGN_IN_COOKIE) -> bool:
    """Does the posted form (parse_qs output) carry the token of this request's cookie?"""
    sent = form.get(FIELD, [""])[0]
    expected = token(request, cookie)
    return bool(sent) and bool(expected) and hmac.compare_digest(sent, expected)


def anonymous_binding(request: Request) -> str:
    """For a form shown before sign-in (the login form): the binding its token is made for
    (`make`): the request's anonymous cookie, or a new random value to set with
    `keep_anonymous` on the response that carries the form."""
    return signed_in_token(request, ANONYMOUS_COOKIE) or secrets.token_urlsafe(24)


def keep_anonymous(request: Request, response: Response, binding: str) -> None:
    """Set the anonymous binding cookie (HttpOnly, SameSite=Strict, like the sign-in)."""
    response.set_cookie(
        cookie_name(request, ANONYMOUS_COOKIE),
        binding,
        httponly=True,
        samesite="strict",
        path="/",
        secure=not services(request).settings.insecure_cookies,
    )


def field(value: str) -> Markup:
    """The hidden input a template puts in each post form (global `csrf_field`)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, value)
