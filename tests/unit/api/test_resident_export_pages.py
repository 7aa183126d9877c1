"""The resident's export is streamed page by page: each list is read with the cursor the
previous page handed out, and the answer is one valid document with every row once. The
read model is replaced by canned pages (the keyset queries run on PostgreSQL in
tests/integration/test_search_and_export.py); cursors that are not ours are a 422."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.api import resident_routes
from services.api.app import create_app
from services.dev.tokens import DEV_ISSUER, ensure_issuer, resident_token
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.readmodel import resident
from services.readmodel.customers import BadCursor, Cluster
from services.settings import Settings

ROWS = 23
PAGE = 5


def pager(name: str, reads: list[tuple[str, str | None]]) -> Any:
    """Pages of `ROWS` items of one list; records each read and its cursor."""

    async def read(conn: object, group: Cluster, limit: int, cursor: str | None = None) -> Any:
        reads.append((name, cursor))
        start = int(cursor[1:]) if cursor else 0
        items = [{"n": f"{name}-{i}"} for i in range(start, min(start + limit, ROWS))]
        following = f"c{start + limit}" if start + limit < ROWS else None
        return items, following

    return read


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    seen: list[tuple[str, str | None]] = []

    @asynccontextmanager
    async def connection(request: object) -> AsyncIterator[object]:
        yield object()

    async def my_cluster(request: object, me: object) -> Cluster:
        return Cluster("k-" + "a" * 32, ["k-" + "a" * 32])

    async def about(conn: object, group: Cluster) -> dict[str, Any]:
        return {"customer_key": group.root}

    timeline = pager("timeline", seen)

    async def my_timeline(
        conn: object, group: Cluster, limit: int, before: str | None, types: Any = None
    ) -> dict[str, Any]:
        items, following = await timeline(conn, group, limit, before)
        return {"items": items, "next": following}

    monkeypatch.setattr(resident_routes, "EXPORT_PAGE", PAGE)
    monkeypatch.setattr(resident_routes, "connection", connection)
    monkeypatch.setattr(resident_routes, "my_cluster", my_cluster)
    monkeypatch.setattr(resident_routes, "about", about)
    monkeypatch.setattr(resident_routes, "my_timeline", my_timeline)
    monkeypatch.setattr(resident_routes, "my_requests", pager("requests", seen))
    monkeypatch.setattr(resident_routes, "my_access_log", pager("access_log", seen))
    return seen


@pytest.fixture
async def resident_client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    _, jwks = ensure_issuer(tmp_path)
    app = create_app(
        Settings(jwt_issuer=DEV_ISSUER, jwt_jwks=str(jwks), resident_audience="contactmoment-mijn"),
        publisher=MemoryPublisher(),
        pseudonym_key="unit-test-pseudonym-key-0123",
        sealer=memory_sealer(),
    )
    token = resident_token(tmp_path, "999993653")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, token


async def test_the_export_is_read_page_by_page_and_is_one_document(
    reads: list[tuple[str, str | None]], resident_client: tuple[httpx.AsyncClient, str]
) -> None:
    client, token = resident_client
    response = await client.get("/v1/me/export", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="mijn-gegevens.json"'
    document = response.json()
    assert list(document) == [
        "format",
        "generated_at",
        "about_you",
        "timeline",
        "requests",
        "access_log",
    ]
    for name in ("timeline", "requests", "access_log"):
        assert [i["n"] for i in document[name]] == [f"{name}-{i}" for i in range(ROWS)]
        cursors = [cursor for list_name, cursor in reads if list_name == name]
        # Five reads of five: the first without a cursor, each next with the one handed out.
        assert cursors == [None, "c5", "c10", "c15", "c20"]


async def test_an_empty_history_is_a_valid_document(
    reads: list[tuple[str, str | None]],
    resident_client: tuple[httpx.AsyncClient, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(globals(), "ROWS", 0)  # the pager reads it at each call
    client, token = resident_client
    response = await client.get("/v1/me/export", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    document = response.json()
    assert (document["timeline"], document["requests"], document["access_log"]) == ([], [], [])


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0", "eyJhIjogMX0"])
async def test_a_cursor_that_is_not_ours_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursor):
        await resident.access_log(object(), ["k-" + "a" * 32], 5, cursor)  # type: ignore[arg-type]
    with pytest.raises(BadCursor):
        await resident.requests(object(), ["k-" + "a" * 32], 5, cursor)  # type: ignore[arg-type]
