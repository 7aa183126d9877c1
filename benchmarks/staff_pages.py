"""Server time of every staff page at the volume of `make bench-volume` (scale 1.0: 1 M
contacts, 150 k requests, 200 k customers, five years) on a read model
harness/readmodel_data.py generates with its skew, the KPI aggregates filled from its rows
as the projector would have kept them (harness/kpi_fill.py).

The pages: the search (by BSN, and by a phone number 2,000 customers share), the customer
page of a typical and of the heaviest customer (its requests, histories, closed requests,
timeline), the worklist (open, deep page, own department, overdue, closed), the regieteam's
page and the KPI page (28 days and half a year with their weekly trends).

The app runs in-process (a memory publisher: the access records' Kafka round trip is not
in the figure) reading a pool on the generated schema; each page is asked `--calls` times
after one warm-up call and its Server-Timing `app` duration (handler start to rendered
page) is summarised against the 200 ms goal, p50 and p99. JSON in
benchmarks/results/staff_pages.json.

    python -m benchmarks.staff_pages [--scale 1.0] [--calls 20] [--keep]   (make bench-staff)
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.common import report, summary_ms
from domain.clock.norms import load as load_norms
from harness.kpi_fill import fill_kpi_aggregates
from harness.readmodel_data import Shape, generate
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser
from services.api import staff_routes, ui_customer, ui_kpis, ui_lists
from services.api.app import create_app
from services.dev.tokens import DEV_ISSUER, ensure_issuer, staff_token
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.readmodel.migrate import migrate
from services.settings import Settings, load_settings

TARGET_MS = 200.0
SERVER_TIME = re.compile(r"app;dur=([0-9.]+)")
CSRF = re.compile(r'name="csrf" value="([^"]*)"')
KEY = "bench-pages-pseudonym-key-0123456789"
BSN = "111222333"
PHONE = "0612345678"
SHARERS = 2_000
READERS = (staff_routes, ui_customer, ui_lists, ui_kpis)  # modules whose pages read the pool


def shape(scale: float) -> Shape:
    """The volume benchmark's sizes, times `scale`."""

    def n(value: int) -> int:
        return max(int(value * scale), 10)

    return Shape(
        years=5,
        bsn_customers=n(150_000),
        phone_only=n(25_000),
        email_only=n(25_000),
        shared_phone=n(5_000),
        heavy_contacts=n(4_000),
        contacts=n(1_000_000),
        requests=n(150_000),
        access_records=n(50_000),
    )


async def plant(conn: asyncpg.Connection, typical: str) -> None:
    """A BSN and a phone number the app can hash: the BSN on the typical customer, the
    number on it and on SHARERS - 1 other BSN customers."""
    pseudonyms = Pseudonymiser(KEY)
    bsn = pseudonyms.identifier(IdentifierKind.BSN, BSN)
    phone = pseudonyms.identifier(IdentifierKind.PHONE, PHONE)
    others = await conn.fetch(
        "SELECT DISTINCT customer_key FROM customer_identifiers WHERE kind = 'bsn'"
        " AND customer_key <> $1 LIMIT $2",
        typical,
        SHARERS - 1,
    )
    rows = [(typical, bsn.hash, "bsn", bsn.masked)] + [
        (key, phone.hash, "phone", phone.masked)
        for key in [typical, *(r["customer_key"] for r in others)]
    ]
    await conn.executemany(
        "INSERT INTO customer_identifiers (customer_key, hash, kind, masked, first_seen, verified)"
        " VALUES ($1, $2, $3, $4, now() - interval '1 year', true) ON CONFLICT DO NOTHING",
        rows,
    )


async def timed(calls: int, send: Any, name: str) -> dict[str, float | bool]:
    """`send()` calls+1 times; the Server-Timing of all but the first (warm-up) summarised."""
    server: list[float] = []
    for i in range(calls + 1):
        response = await send()
        assert response.status_code == 200, (name, response.status_code, response.text[:300])
        match = SERVER_TIME.search(response.headers.get("server-timing", ""))
        assert match, name
        if i:
            server.append(float(match.group(1)) / 1000)
    figures = summary_ms(server)
    return {
        **figures,
        "within_200_ms_p50": figures["p50_ms"] <= TARGET_MS,
        "within_200_ms_p99": figures["p99_ms"] <= TARGET_MS,
    }


async def run(scale: float, calls: int, keep: bool = False) -> dict[str, Any]:
    settings = load_settings()
    schema = f"bench_pages_{uuid.uuid4().hex[:8]}"
    migrate(settings.database_url, schema)
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": schema})
    started = time.perf_counter()
    generated = await generate(conn, schema, datetime.now(UTC), shape(scale))
    await plant(conn, generated.typical_key)
    await conn.execute("ANALYZE")
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    kpi_days = await fill_kpi_aggregates(conn, load_norms(settings.service_norms))
    aggregates_s = time.perf_counter() - started
    pool = await asyncpg.create_pool(
        settings.database_url, server_settings={"search_path": schema}, min_size=1, max_size=4
    )
    assert pool is not None

    @asynccontextmanager
    async def connection(request: object) -> AsyncIterator[asyncpg.Connection]:
        async with pool.acquire() as c:
            yield c

    for module in READERS:  # the pages read the generated schema
        vars(module)["connection"] = connection
    issuer = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    _, jwks = ensure_issuer(issuer)
    app = create_app(
        Settings(
            jwt_issuer=DEV_ISSUER,
            jwt_jwks=str(jwks),
            insecure_cookies=True,
            searches_per_minute=100_000,
        ),
        publisher=MemoryPublisher(),
        pseudonym_key=KEY,
        sealer=memory_sealer(),
    )
    departments = await conn.fetch(
        "SELECT department, count(*) AS n FROM requests WHERE status = 'open'"
        " GROUP BY department ORDER BY n DESC LIMIT 1"
    )
    busiest = departments[0]["department"] if departments else "Burgerzaken"

    def cookie(roles: list[str], department: str | None = None) -> dict[str, str]:
        token = staff_token(issuer, f"bench-{'-'.join(roles)}", roles, department)
        return {"Cookie": f"contactmoment_token={token}", "Origin": "http://bench"}

    kcc, regie = cookie(["kcc"]), cookie(["regieteam"])
    dept = cookie(["department"], busiest)
    posted = {
        "search by BSN": ("/ui/zoeken", {"bsn": BSN}),
        f"search by a phone number {SHARERS} customers share": ("/ui/zoeken", {"phone": PHONE}),
        "customer page, typical customer": (f"/ui/customers/{generated.typical_key}", {}),
        "customer page, heaviest customer": (f"/ui/customers/{generated.heavy_key}", {}),
    }
    half_year = (datetime.now(UTC).date() - timedelta(days=181)).isoformat()
    got = {
        "werkvoorraad open, page 1 (kcc)": ("/ui/werkvoorraad", kcc),
        "werkvoorraad open, page 20 (kcc)": ("/ui/werkvoorraad?pagina=20", kcc),
        "werkvoorraad own department (department)": ("/ui/werkvoorraad", dept),
        "werkvoorraad overdue (kcc)": ("/ui/werkvoorraad?status=overdue", kcc),
        "werkvoorraad closed callbacks (kcc)": (
            "/ui/werkvoorraad?status=closed&soort=callback",
            kcc,
        ),
        "regie (regieteam)": ("/ui/regie", regie),
        "kpis, last 28 days + 5 weeks (kcc)": ("/ui/kpis", kcc),
        "kpis, 26 weeks + 26 weeks (kcc)": (f"/ui/kpis?van={half_year}", kcc),
    }
    results: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=120
        ) as client:
            start = await client.get("/ui/", headers=kcc)
            found = CSRF.search(start.text)
            assert found, start.text[:500]
            form = {"purpose": "klantcontact", "csrf": found.group(1)}
            for name, (path, fields) in posted.items():

                def post(path: str = path, fields: dict[str, str] = fields) -> Any:
                    return client.post(path, data=form | fields, headers=kcc)

                results[name] = await timed(calls, post, name)
            for name, (path, headers) in got.items():

                def get(path: str = path, headers: dict[str, str] = headers) -> Any:
                    return client.get(path, headers=headers)

                results[name] = await timed(calls, get, name)
    finally:
        await pool.close()
        if not keep:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()
    return {
        "scale": scale,
        "schema": schema if keep else None,
        "calls_per_page": calls,
        "generate_s": round(generate_s, 1),
        "kpi_aggregates_s": round(aggregates_s, 1),
        "rows": {**generated.counts, "kpi_daily": kpi_days},
        "target_ms": TARGET_MS,
        "server_time": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: make bench-volume's size")
    parser.add_argument("--calls", type=int, default=20, help="measured calls per page")
    parser.add_argument("--keep", action="store_true", help="keep the generated schema")
    args = parser.parse_args()
    report("staff_pages", asyncio.run(run(args.scale, args.calls, args.keep)))


if __name__ == "__main__":
    main()
