"""Sign-in hardening: the static token's length and exclusivity, an https key set, the page
cookies' attributes, the pages' origin check, and 503s that name no internal host."""

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from services.api.app import create_app
from services.api.auth import Authenticator
from services.dev.tokens import DEV_ISSUER, ensure_issuer, resident_token
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.settings import ConfigError, Settings
from tests.unit.api.conftest import TOKEN, unit_client
from tests.unit.api.forms import login_form

BSN = "999993653"
PORTAL = "https://mijn.gemeente.example"


def test_a_short_static_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 32 characters") as caught:
        Authenticator(Settings(), "0123456789")
    assert "CONTACTMOMENT_API_TOKEN" in str(caught.value)
    assert "0123456789" not in str(caught.value)


def test_the_static_token_is_refused_beside_a_key_set(tmp_path: Path) -> None:
    _, jwks = ensure_issuer(tmp_path)
    settings = Settings(jwt_jwks=str(jwks), jwt_issuer=DEV_ISSUER)
    with pytest.raises(ConfigError) as caught:
        Authenticator(settings, "s" * 40)
    for variable in ("CONTACTMOMENT_ALLOW_STATIC_TOKEN", "CONTACTMOMENT_JWT_JWKS"):
        assert variable in str(caught.value)


@pytest.mark.parametrize("url", ["http://idp.example/jwks.json", "ftp://idp.example/jwks"])
def test_a_key_set_url_must_be_https(url: str) -> None:
    with pytest.raises(ConfigError, match="https"):
        Authenticator(Settings(jwt_jwks=url, jwt_issuer="https://idp.example"), None)


async def test_an_unreachable_key_set_is_a_503_naming_no_host() -> None:
    auth = Authenticator(
        Settings(jwt_jwks="https://idp.intern.example:1/jwks.json", jwt_issuer=DEV_ISSUER), None
    )
    token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImRldi0xIn0.eyJzdWIiOiJ4In0.c2ln"
    with pytest.raises(Exception) as caught:
        await auth.principal(token)
    problem: Any = caught.value
    assert problem.status == 503
    assert "idp.intern.example" not in problem.detail
    assert "key set" in problem.detail


def cookies_of(response: httpx.Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


async def test_the_staff_cookie_is_secure_host_only_httponly_strict(
    client: httpx.AsyncClient,
) -> None:
    csrf, cookie = await login_form(client)
    response = await client.post(
        "/ui/login",
        data={"token": TOKEN, "next": "/ui/", "csrf": csrf},
        headers={"Origin": "http://test", **cookie},
    )
    assert response.status_code == 303, response.text
    [(name, morsel)] = cookies_of(response).items()
    assert name == "__Host-contactmoment_token"
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert not morsel["domain"]


async def test_insecure_cookies_drop_secure_and_the_prefix_for_plain_http(
    publisher: MemoryPublisher,
) -> None:
    async with unit_client(publisher, insecure_cookies=True) as client:
        csrf, cookie = await login_form(client)
        response = await client.post(
            "/ui/login",
            data={"token": TOKEN, "csrf": csrf},
            headers={"Origin": "http://test", **cookie},
        )
    assert response.status_code == 303, response.text
    [(name, morsel)] = cookies_of(response).items()
    assert name == "contactmoment_token"
    assert not morsel["secure"]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://elders.example"},
        {"Origin": "null", "Referer": "https://elders.example/aanval"},
        {"Referer": "http://test.elders.example/"},
        {},
    ],
    ids=["foreign-origin", "foreign-referer", "lookalike", "none"],
)
async def test_a_staff_login_from_another_or_no_origin_is_a_403_page(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/ui/login", data={"token": TOKEN}, headers=headers)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert not response.headers.get_list("set-cookie")


async def test_a_staff_login_with_our_referer_passes(client: httpx.AsyncClient) -> None:
    csrf, cookie = await login_form(client)
    response = await client.post(
        "/ui/login",
        data={"token": TOKEN, "csrf": csrf},
        headers={"Origin": "null", "Referer": "http://test/ui/login", **cookie},
    )
    assert response.status_code == 303, response.text


@pytest.fixture
async def resident_client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    """The app with the development issuer's key set (no static token) and a portal."""
    _, jwks = ensure_issuer(tmp_path)
    settings = Settings(jwt_jwks=str(jwks), jwt_issuer=DEV_ISSUER, portal_origins=PORTAL)
    app = create_app(
        settings,
        publisher=MemoryPublisher(),
        pseudonym_key="unit-test-pseudonym-key-0123",
        sealer=memory_sealer(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, tmp_path


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://elders.example", "Sec-Fetch-Site": "same-site"}, 403),
        ({"Origin": "https://elders.example"}, 403),
        ({}, 403),
        ({"Origin": "http://test"}, 303),
        ({"Origin": PORTAL, "Sec-Fetch-Site": "cross-site"}, 200),
    ],
    ids=["foreign-said-same-site", "foreign", "none", "own", "portal"],
)
async def test_a_resident_login_needs_our_origin_or_the_portals(
    resident_client: tuple[httpx.AsyncClient, Path], headers: dict[str, str], status: int
) -> None:
    client, issuer = resident_client
    token = resident_token(issuer, BSN)
    csrf, cookie = await login_form(client, "/ui/mijn/login")
    data = {"token": token, "csrf": csrf}
    response = await client.post("/ui/mijn/login", data=data, headers={**headers, **cookie})
    assert response.status_code == status, response.text
    cookies = cookies_of(response)
    if status == 403:
        assert not cookies
        return
    [(name, morsel)] = cookies.items()
    assert name == "__Host-contactmoment_mijn"
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"


async def test_the_resident_login_form_of_this_page_needs_its_token(
    resident_client: tuple[httpx.AsyncClient, Path],
) -> None:
    """Posted from our own page the form must carry the token of its anonymous cookie;
    the portal's auto-post cannot know it and is let in by its origin alone."""
    client, issuer = resident_client
    token = resident_token(issuer, BSN)
    csrf, cookie = await login_form(client, "/ui/mijn/login")
    own = {"Origin": "http://test", **cookie}
    for data in ({"token": token}, {"token": token, "csrf": "0" * 64}):
        refused = await client.post("/ui/mijn/login", data=data, headers=own)
        assert refused.status_code == 403, refused.text
        assert "formulier is verlopen" in refused.text
        assert "contactmoment_mijn" not in refused.headers.get("set-cookie", "")
    other, _ = await login_form(client, "/ui/mijn/login")  # another visitor's token
    crossed = await client.post("/ui/mijn/login", data={"token": token, "csrf": other}, headers=own)
    assert crossed.status_code == 403
    signed = await client.post("/ui/mijn/login", data={"token": token, "csrf": csrf}, headers=own)
    assert signed.status_code == 303
    portal = await client.post("/ui/mijn/login", data={"token": token}, headers={"Origin": PORTAL})
    assert portal.status_code == 200, portal.text


async def test_every_post_under_ui_refuses_a_foreign_origin(client: httpx.AsyncClient) -> None:
    app: Any = client._transport.app  # type: ignore[attr-defined]
    routes = [
        route
        for entry in app.routes
        for route in getattr(getattr(entry, "original_router", None), "routes", [entry])
    ]
    posts = [
        r.path
        for r in routes
        if isinstance(r, APIRoute) and r.path.startswith("/ui") and "POST" in r.methods
    ]
    assert "/ui/login" in posts and "/ui/mijn/login" in posts
    for path in posts:
        response = await client.post(
            path, data={"token": TOKEN}, headers={"Origin": "https://elders.example"}
        )
        assert response.status_code == 403, (path, response.text)
