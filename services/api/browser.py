"""What the pages (/ui, /ui/mijn) need around a browser: where a form was posted from, and
the sign-in cookies.

A form post to /ui must come from the app's own pages (or, for the resident login, from the
portal): a page elsewhere could otherwise post a token of its own and sign the visitor in
as someone else (login CSRF), or act with the visitor's cookie. Browsers send `Origin` on
every POST; after some redirects it is `null` and the Referer's origin counts instead. A
post that names neither is refused too.

The cookies are `Secure`, HttpOnly, SameSite=Strict and carry the `__Host-` prefix (so
Path=/ and no Domain: no other host, not even a subdomain, can set or overwrite them).
CONTACTMOMENT_INSECURE_COOKIES drops Secure and the prefix, for plain http on localhost.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from services.api.state import services

HOST_PREFIX = "__Host-"
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalised(origin: str | None) -> str | None:
    """`scheme://host[:port]`, lower-cased, default port left out; None when not an origin."""
    if not origin:
        return None
    parts = urlsplit(origin.strip())
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    shown = "" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{parts.hostname.lower()}{shown}"


def posted_from(origin: str | None, referer: str | None) -> str | None:
    """The posting site: the Origin header, else (when it is absent or `null`) the origin
    of the Referer; None when neither says."""
    if origin and origin.strip() != "null":
        return normalised(origin)
    return normalised(referer)


def origin_allowed(posted: str | None, own: str, others: frozenset[str] = frozenset()) -> bool:
    """May a form posted from `posted` act here? Only our own origin or one of `others`."""
    return posted is not None and (posted == own or posted in others)


def own_origin(request: Request) -> str:
    """The app's origin as browsers see it: CONTACTMOMENT_PUBLIC_ORIGIN, else the request's
    own scheme and Host."""
    configured = services(request).settings.public_origin
    return (
        normalised(configured) or normalised(f"{request.url.scheme}://{request.url.netloc}") or ""
    )


def request_origin(request: Request) -> str | None:
    """Where this request's form was posted from (see `posted_from`)."""
    return posted_from(request.headers.get("origin"), request.headers.get("referer"))


def same_origin(request: Request, others: frozenset[str] = frozenset()) -> bool:
    """Was this POST sent by one of our pages (or a page of `others`)?"""
    return origin_allowed(request_origin(request), own_origin(request), others)


def cookie_name(request: Request, name: str) -> str:
    """The cookie's name: with the `__Host-` prefix unless cookies are insecure."""
    return name if services(request).settings.insecure_cookies else HOST_PREFIX + name


def set_sign_in(request: Request, response: Response, name: str, token: str) -> None:
    """Keep a sign-in token in the page cookie `name`."""
    response.set_cookie(
        cookie_name(request, name),
        token,
        httponly=True,
        samesite="strict",
        path="/",
        secure=not services(request).settings.insecure_cookies,
    )


def drop_sign_in(request: Request, response: Response, name: str) -> None:
    """Remove the page cookie `name`."""
    response.delete_cookie(
        cookie_name(request, name),
        path="/",
        httponly=True,
        samesite="strict",
        secure=not services(request).settings.insecure_cookies,
    )


def signed_in_token(request: Request, name: str) -> str:
    """The token in the page cookie `name`, or ""."""
    return request.cookies.get(cookie_name(request, name), "")
