"""Every named staff and resident query, EXPLAINed on a generated read model with real
volume and skew (harness/readmodel_data.py): each runs on an index suited to it, never a
sequential scan of a table, never a subplan over the timeline, signals or request history
that runs once per scanned row. The statements are the ones the query functions send (a
recording connection captures them with their values), so a changed query is checked as it
is. Speed is for benchmarks; this checks the plans' shape."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from domain.clock.norms import load as load_norms
from harness.kpi_fill import fill_kpi_aggregates
from harness.readmodel_data import Generated, Recorder, explain, generate, nodes
from services.readmodel import access_log, customers, kpis, resident, search, worklist
from services.readmodel.migrate import migrate
from services.settings import Settings

TABLES = {
    "customers",
    "customer_identifiers",
    "timeline",
    "requests",
    "request_history",
    "signals",
    "notifications",
    "access_log",
    "kpi_contrib",
}  # kpi_daily is not here: its size is days x metrics, and a five-year window reads most of it
PER_ROW_WATCHED = {"timeline", "signals", "request_history"}


class Data:
    def __init__(self, conn: asyncpg.Connection, generated: Generated) -> None:
        self.conn = conn
        self.g = generated


@pytest.fixture(scope="module")
async def data(settings: Settings) -> AsyncIterator[Data]:
    schema = "plans_" + os.urandom(6).hex()
    migrate(settings.database_url, schema)
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": schema})
    try:
        generated = await generate(conn, schema, datetime.now(UTC))
        await fill_kpi_aggregates(conn, load_norms(settings.service_norms))
        yield Data(conn, generated)
    finally:
        await conn.close()
        admin = await asyncpg.connect(settings.database_url)
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


Case = Callable[[Any, Data], Awaitable[object]]


async def _cluster(rec: Any, d: Data, key: str) -> customers.Cluster:
    group = await customers.cluster(d.conn, key)
    assert group is not None
    return group


async def _deep_cursor(d: Data, group: customers.Cluster) -> str:
    page = await customers.timeline(d.conn, group, 3000, None)
    assert page["next"], "the heavy customer has more than 3,000 timeline entries"
    return str(page["next"])


async def summary(rec: Any, d: Data) -> object:
    return await customers.summary(rec, await _cluster(rec, d, d.g.heavy_key))


async def cluster_landline(rec: Any, d: Data) -> object:
    return await customers.cluster(rec, d.g.shared_phone_key)


async def cluster_sharer(rec: Any, d: Data) -> object:
    return await customers.cluster(rec, d.g.sharing_key)


async def search_landline(rec: Any, d: Data) -> object:
    return await search.search(rec, [d.g.shared_phone_hash], 41)


async def search_landline_department(rec: Any, d: Data) -> object:
    return await search.search(rec, [d.g.shared_phone_hash], 41, search.Reach(False, "Zorg"))


async def timeline_first(rec: Any, d: Data) -> object:
    return await customers.timeline(rec, await _cluster(rec, d, d.g.heavy_key), 50, None)


async def timeline_deep(rec: Any, d: Data) -> object:
    group = await _cluster(rec, d, d.g.heavy_key)
    return await customers.timeline(rec, group, 50, await _deep_cursor(d, group))


def _worklist(**kw: Any) -> Case:
    async def run(rec: Any, d: Data) -> object:
        return await worklist.requests(rec, **kw)

    return run


async def detail(rec: Any, d: Data) -> object:
    return await worklist.request_detail(rec, d.g.typical_request)


async def scope_customer(rec: Any, d: Data) -> object:
    group = await _cluster(rec, d, d.g.heavy_key)
    return await worklist.scope(rec, keys=group.keys)


async def scope_request(rec: Any, d: Data) -> object:
    return await worklist.scope(rec, request_id=d.g.typical_request)


async def access_customer(rec: Any, d: Data) -> object:
    return await access_log.entries(rec, customer_keys=[d.g.heavy_key], limit=500)


async def access_staff(rec: Any, d: Data) -> object:
    return await access_log.entries(rec, staff_subject=d.g.heavy_staff, limit=500)


async def access_time(rec: Any, d: Data) -> object:
    end = d.g.now
    return await access_log.entries(rec, start=end - timedelta(days=7), end=end, limit=500)


async def my_requests(rec: Any, d: Data) -> object:
    group = (await _cluster(rec, d, d.g.heavy_key)).verified()
    return await worklist.requests(rec, customer_keys=group.keys, limit=10_000)


async def my_access_log(rec: Any, d: Data) -> object:
    group = (await _cluster(rec, d, d.g.heavy_key)).verified()
    return await access_log.entries(rec, customer_keys=group.keys, limit=100)


async def my_timeline(rec: Any, d: Data) -> object:
    group = (await _cluster(rec, d, d.g.heavy_key)).verified()
    return await resident.timeline(rec, group.keys, 50, None)


async def kpi_from_scratch(rec: Any, d: Data) -> object:
    return await kpis.facts(rec, d.g.now - timedelta(days=30), d.g.now)


async def kpi_30_days(rec: Any, d: Data) -> object:
    return await kpis.counts(rec, d.g.now - timedelta(days=30), d.g.now)


async def kpi_5_years(rec: Any, d: Data) -> object:
    return await kpis.counts(rec, d.g.now - timedelta(days=5 * 365), d.g.now)


async def kpi_past_week(rec: Any, d: Data) -> object:
    """A week of the KPI page's trend: contacts after it, so its customers are counted."""
    return await kpis.counts(rec, d.g.now - timedelta(days=60), d.g.now - timedelta(days=53))


async def gauge(rec: Any, d: Data) -> object:
    return await worklist.open_and_overdue(rec)


OPEN, CLOSED = worklist.OPEN_STATUSES, worklist.CLOSED_STATUSES

# name: (query, indexes its plans must use: my own queries name them, customers.py's the table)
CASES: dict[str, tuple[Case, set[str]]] = {
    "customer summary": (summary, {"customers_pkey"}),
    "cluster of the shared landline's key": (cluster_landline, set()),
    "cluster of a customer carrying the shared landline": (cluster_sharer, set()),
    "search by the shared landline": (
        search_landline,
        {"customer_identifiers_hash", "customers_pkey"},
    ),
    "search by the shared landline, one department's reach": (
        search_landline_department,
        {"customer_identifiers_hash", "customers_pkey", "requests_customer"},
    ),
    "timeline first page": (timeline_first, {"timeline_customer_time"}),
    "timeline deep page": (timeline_deep, {"timeline_customer_time"}),
    "worklist open": (_worklist(statuses=OPEN), {"requests_open_due"}),
    "worklist overdue": (_worklist(statuses=OPEN, overdue=True), {"requests_open_due"}),
    "worklist closed": (_worklist(statuses=CLOSED), {"requests_closed_due"}),
    "worklist open per department": (
        _worklist(statuses=OPEN, department="Zorg"),
        {"requests_open_department_due"},
    ),
    "worklist overdue per department": (
        _worklist(statuses=OPEN, overdue=True, department="Zorg"),
        {"requests_open_department_due"},
    ),
    "worklist closed per department": (
        _worklist(statuses=CLOSED, department="Zorg"),
        {"requests_closed_department_due"},
    ),
    "worklist open per type": (
        _worklist(statuses=OPEN, request_type="complaint"),
        {"requests_open_type_due"},
    ),
    "worklist closed per type": (
        _worklist(statuses=CLOSED, request_type="complaint"),
        {"requests_closed_type_due"},
    ),
    "request detail": (
        detail,
        {
            "requests_pkey",
            "request_history_request",
            "signals_request_type",
            "notifications_request",
        },
    ),
    "scope of a customer": (scope_customer, {"requests_customer"}),
    "scope of a request": (scope_request, {"requests_pkey"}),
    "access log by customer": (access_customer, {"access_log_customer_order"}),
    "access log by staff subject": (access_staff, {"access_log_staff"}),
    "access log by time": (access_time, {"access_log_time_order"}),
    "resident: my requests": (my_requests, {"requests_customer"}),
    "resident: my access log": (my_access_log, {"access_log_customer_order"}),
    "resident: my timeline": (my_timeline, {"timeline_customer_time"}),
    "KPIs of 30 days (aggregates)": (
        kpi_30_days,
        {"kpi_daily_metric_day", "kpi_contrib_at", "customers_last_inbound"},
    ),
    "KPIs of 5 years (aggregates)": (kpi_5_years, {"kpi_contrib_at", "customers_last_inbound"}),
    "KPIs of a past week (aggregates)": (
        kpi_past_week,
        {"kpi_daily_metric_day", "kpi_contrib_at", "timeline_inbound_time"},
    ),
    "KPIs from scratch (the reference)": (
        kpi_from_scratch,
        {
            "requests_closed_or_open",
            "timeline_request_outbound",
            "request_history_interim",
            "signals_type_time",
            "notifications_kind_time",
            "timeline_inbound_time",
        },
    ),
    "open and overdue gauge": (gauge, {"requests_open_due"}),
}


# The overdue predicate's breach test is an index probe (signals_request_type) per open
# request it looks at that is not past due: bounded by the open backlog, never by the years.
BACKLOG_BOUND = {
    "worklist overdue",
    "worklist overdue per department",
    "open and overdue gauge",
}


def problems(plan: dict[str, Any], bound: int = 0) -> list[str]:
    """What is wrong with one statement's plan: sequential scans of read-model tables, and
    subplans over the watched tables that run more often than the statement returns rows
    (or than `bound`)."""
    found = []
    returned = max(1, int(plan.get("Actual Rows", 0)), bound)
    for node in nodes(plan):
        relation = node.get("Relation Name")
        if node["Node Type"] == "Seq Scan" and relation in TABLES:
            found.append(f"Seq Scan on {relation}")
        if node.get("Parent Relationship") == "SubPlan":
            touched = {n.get("Relation Name") for n in nodes(node)} & PER_ROW_WATCHED
            loops = int(node.get("Actual Loops", 0))
            if touched and loops > returned:
                found.append(
                    f"{node.get('Subplan Name')} over {sorted(touched)} ran {loops} times"
                    f" for {returned} rows"
                )
    return found


def summarise(plan: dict[str, Any]) -> list[str]:
    return [
        node["Node Type"]
        + (f" {node['Index Name']}" if "Index Name" in node else "")
        + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
        for node in nodes(plan)
    ]


REPORT: dict[str, Any] = {}


@pytest.mark.parametrize("name", list(CASES))
async def test_the_query_uses_its_indexes(data: Data, name: str) -> None:
    query, expected = CASES[name]
    rec = Recorder(data.conn)
    await query(rec, data)
    assert rec.statements, f"{name}: the query function sent nothing"
    bound = 0
    if name in BACKLOG_BOUND:
        bound = await data.conn.fetchval(
            "SELECT count(*) FROM requests WHERE status IN ('open', 'suspended')"
        )
    used: set[str] = set()
    wrong: list[str] = []
    figures = []
    for sql, args in rec.statements:
        result = await explain(data.conn, sql, args)
        plan = result["Plan"]
        used |= {n["Index Name"] for n in nodes(plan) if "Index Name" in n}
        wrong += [f"{p}\n  in {sql}" for p in problems(plan, bound)]
        figures.append({"ms": result["Execution Time"], "nodes": summarise(plan), "sql": sql[:90]})
    REPORT[name] = figures
    path = os.environ.get("CONTACTMOMENT_PLAN_REPORT")
    if path:
        Path(path).write_text(json.dumps({"counts": data.g.counts, "cases": REPORT}, indent=1))
    assert not wrong, f"{name}:\n" + "\n".join(wrong)
    assert expected <= used, f"{name}: uses {sorted(used)}, not {sorted(expected - used)}"


async def test_the_generated_data_has_its_skew(data: Data) -> None:
    """The plans are only worth checking on data that is big and skewed."""
    conn = data.conn
    carriers = await conn.fetchval(
        "SELECT count(*) FROM customer_identifiers WHERE hash = $1", data.g.shared_phone_hash
    )
    heavy = await conn.fetchval(
        "SELECT count(*) FROM timeline WHERE customer_key = $1", data.g.heavy_key
    )
    years = await conn.fetchval(
        "SELECT extract(epoch FROM max(opened_at) - min(opened_at)) / 86400 / 365 FROM requests"
    )
    assert carriers > 3000
    assert heavy > 5000
    assert years > 3.5
    assert data.g.counts["timeline"] > 100_000


async def test_the_aggregates_of_the_generated_data_answer_as_its_rows_do(
    data: Data, settings: Settings
) -> None:
    """The plans above read aggregates filled from the generated rows: they hold what a
    from-scratch count of those rows says, so the plans are of a realistic kpi_daily."""
    catalogue = load_norms(settings.service_norms)
    assert await data.conn.fetchval("SELECT count(*) FROM kpi_daily") > 100
    for days, before in ((30, 0), (365, 0), (60, 53)):
        start, end = data.g.now - timedelta(days=days), data.g.now - timedelta(days=before)
        kept = await kpis.compute(data.conn, catalogue, start, end)
        counted = await kpis.compute_from_scratch(data.conn, catalogue, start, end)
        assert kept == counted, days
