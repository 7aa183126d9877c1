"""Server time of the staff pages /ui/werkvoorraad, /ui/regie and /ui/kpis at the volume of
`make bench-volume` (scale 1.0: 1 M contacts, 150 k requests, 200 k customers, five
years), on a read model harness/readmodel_data.py generates with its skew.

The app runs in-process (a memory publisher: the access records' Kafka round trip is not
in the figure) with its pages reading a pool on the generated schema; each page is asked
`--calls` times after one warm-up call and its Server-Timing `app` duration (handler start
to rendered page) is summarised. JSON in benchmarks/results/staff_pages.json.

    python -m benchmarks.staff_pages [--scale 1.0] [--calls 20]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.common import report, summary_ms
from harness.readmodel_data import Shape, generate
from services.api import ui_kpis, ui_lists
from services.api.app import create_app
from services.dev.tokens import DEV_ISSUER, ensure_issuer, staff_token
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.readmodel.migrate import migrate
from services.settings import Settings, load_settings

TARGET_MS = 200.0
SERVER_TIME = re.compile(r"app;dur=([0-9.]+)")


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


async def run(scale: float, calls: int) -> dict[str, Any]:
    settings = load_settings()
    schema = f"bench_pages_{uuid.uuid4().hex[:8]}"
    migrate(settings.database_url, schema)
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": schema})
    started = time.perf_counter()
    generated = await generate(conn, schema, datetime.now(UTC), shape(scale))
    # The generator's "objection" is no request type of the service norms (the API's models
    # would refuse it); the KPIs look every request's norm up, so it is a report here.
    await conn.execute(
        "UPDATE requests SET request_type = 'report' WHERE request_type = 'objection'"
    )
    await conn.execute("ANALYZE")
    generate_s = time.perf_counter() - started
    pool = await asyncpg.create_pool(
        settings.database_url, server_settings={"search_path": schema}, min_size=1, max_size=4
    )
    assert pool is not None

    @asynccontextmanager
    async def connection(request: object) -> AsyncIterator[asyncpg.Connection]:
        async with pool.acquire() as c:
            yield c

    for module in (ui_lists, ui_kpis):  # the pages read the generated schema
        vars(module)["connection"] = connection
    issuer = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    _, jwks = ensure_issuer(issuer)
    app = create_app(
        Settings(jwt_issuer=DEV_ISSUER, jwt_jwks=str(jwks), insecure_cookies=True),
        publisher=MemoryPublisher(),
        pseudonym_key="bench-pages-pseudonym-key-0123456789",
        sealer=memory_sealer(),
    )
    departments = await conn.fetch(
        "SELECT department, count(*) AS n FROM requests WHERE status = 'open'"
        " GROUP BY department ORDER BY n DESC LIMIT 1"
    )
    busiest = departments[0]["department"] if departments else "Burgerzaken"

    def cookie(roles: list[str], department: str | None = None) -> dict[str, str]:
        token = staff_token(issuer, f"bench-{'-'.join(roles)}", roles, department)
        return {"Cookie": f"contactmoment_token={token}"}

    kcc, regie = cookie(["kcc"]), cookie(["regieteam"])
    dept = cookie(["department"], busiest)
    pages = {
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
    }
    today = datetime.now(UTC).date()
    half_year = today.fromordinal(today.toordinal() - 181).isoformat()
    pages["kpis, 26 weeks + 26 weeks (kcc)"] = (f"/ui/kpis?van={half_year}", kcc)
    results: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=120
        ) as client:
            for name, (path, headers) in pages.items():
                server: list[float] = []
                for i in range(calls + 1):
                    response = await client.get(path, headers=headers)
                    assert response.status_code == 200, (name, response.status_code)
                    match = SERVER_TIME.search(response.headers.get("server-timing", ""))
                    assert match, name
                    if i:  # the first call warms caches and the pool
                        server.append(float(match.group(1)) / 1000)
                figures = summary_ms(server)
                results[name] = {**figures, "within_200_ms_p50": figures["p50_ms"] <= TARGET_MS}
    finally:
        await pool.close()
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()
    return {
        "scale": scale,
        "calls_per_page": calls,
        "generate_s": round(generate_s, 1),
        "rows": generated.counts,
        "target_ms": TARGET_MS,
        "server_time": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    report("staff_pages", asyncio.run(run(args.scale, args.calls)))


if __name__ == "__main__":
    main()
