"""The search answers one page of customers and records only those; the KPI range is
capped. The read model is replaced by canned rows (the queries themselves, and how many
there are, are tested on PostgreSQL in tests/integration/test_search_and_export.py)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schemas.envelope import decode
from services.api import staff_routes
from services.kafka.publisher import MemoryPublisher
from services.readmodel.customers import Cluster
from services.readmodel.search import Candidate
from tests.unit.api.conftest import AUTH, unit_client

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
WHY = {**AUTH, "X-Purpose": "terugbelverzoek"}


def key(n: int) -> str:
    return f"k-{n:032x}"


@pytest.fixture
def found(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """35 customers share the number searched for, the most recent first."""
    seen: dict[str, Any] = {"candidates": 35}

    @asynccontextmanager
    async def connection(request: object) -> AsyncIterator[object]:
        yield object()

    async def search(
        conn: object, hashes: list[str], window: int, reach: object
    ) -> tuple[list[Candidate], bool]:
        seen["window"] = window
        shown = [
            Candidate(Cluster(key(n), [key(n)]), ["Burgerzaken"], False, T0 - timedelta(hours=n))
            for n in range(min(window, seen["candidates"]))
        ]
        return shown, seen["candidates"] >= window

    async def summaries(conn: object, groups: list[Cluster], threshold: int) -> list[Any]:
        seen["summarised"] = [g.root for g in groups]
        seen["threshold"] = threshold
        return [{"customer_key": g.root} for g in groups]

    monkeypatch.setattr(staff_routes, "connection", connection)
    monkeypatch.setattr(staff_routes.customer_search, "search", search)
    monkeypatch.setattr(staff_routes.customers, "summaries", summaries)
    return seen


async def test_a_search_answers_one_page_says_there_is_more_and_records_only_that_page(
    found: dict[str, Any],
) -> None:
    publisher = MemoryPublisher()
    async with unit_client(publisher, search_limit=20, shared_identifier_threshold=7) as client:
        response = await client.post(
            "/v1/customers/search", json={"phone": "0612345678"}, headers=WHY
        )
    assert response.status_code == 200, response.text
    body = response.json()
    shown = [item["customer_key"] for item in body["items"]]
    assert shown == [key(n) for n in range(20)]  # the order the read model gave: most recent
    assert body["more"] is True
    assert "verfijn uw zoekopdracht / refine the search" in body["detail"]
    assert found["summarised"] == shown  # no summary is read for a customer not shown
    assert found["threshold"] == 7
    assert sorted(decode(r.value).subject for r in publisher.records) == sorted(shown)


async def test_a_search_that_fits_says_there_is_no_more(found: dict[str, Any]) -> None:
    found["candidates"] = 3
    publisher = MemoryPublisher()
    async with unit_client(publisher) as client:
        response = await client.post(
            "/v1/customers/search", json={"phone": "0612345678"}, headers=WHY
        )
    assert response.status_code == 200, response.text
    assert response.json()["more"] is False
    assert "detail" not in response.json()
    assert len(publisher.records) == 3


async def test_the_search_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.settings import Settings

    monkeypatch.setenv("CONTACTMOMENT_SEARCH_LIMIT", "5")
    monkeypatch.setenv("CONTACTMOMENT_SHARED_IDENTIFIER_THRESHOLD", "9")
    settings = Settings()
    assert (settings.search_limit, settings.shared_identifier_threshold) == (5, 9)
    assert Settings.model_fields["search_limit"].default == 20


@pytest.mark.parametrize("years", [6, 10])
async def test_a_kpi_range_past_five_years_is_a_422_naming_the_cap(
    client: httpx.AsyncClient, years: int
) -> None:
    start = T0 - timedelta(days=365 * years)
    response = await client.get(
        "/v1/kpis", params={"from": start.isoformat(), "to": T0.isoformat()}, headers=AUTH
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.text
    assert "5 years" in problem and "from/to" in problem
