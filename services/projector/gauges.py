"""Read-model gauges the projector refreshes: open and overdue work, KPIs of the last 30
days, and its own consumer lag. Same queries as the API (services/readmodel/kpis.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer

from domain.clock.norms import Catalogue
from services.metrics import CONSUMER_LAG, KPI_COUNT, KPI_RATIO, REQUESTS_OPEN, REQUESTS_OVERDUE
from services.readmodel.kpis import compute

log = logging.getLogger(__name__)
WINDOW = timedelta(days=30)


async def refresh_read_model(pool: asyncpg.Pool, catalogue: Catalogue) -> None:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT request_type, count(*) AS open, count(*) FILTER (WHERE due_at < now()"
            " OR EXISTS (SELECT 1 FROM signals s WHERE s.request_id = r.request_id AND"
            " s.event_type = 'nl.contactmoment.deadline.breached.v1')) AS overdue"
            " FROM requests r WHERE status IN ('open', 'suspended') GROUP BY request_type"
        )
        seen = {r["request_type"]: r for r in rows}
        for rtype in ("question", "callback", "complaint", "application", "report"):
            row = seen.get(rtype)
            REQUESTS_OPEN.labels(rtype).set(row["open"] if row else 0)
            REQUESTS_OVERDUE.labels(rtype).set(row["overdue"] if row else 0)
        now = datetime.now(UTC)
        set_kpis(await compute(conn, catalogue, now - WINDOW, now))


def set_kpis(kpis: dict[str, Any]) -> None:
    def ratio(principle: str, kpi: str, figure: dict[str, Any], rtype: str = "all") -> None:
        if figure["value"] is not None:
            KPI_RATIO.labels(principle, kpi, rtype).set(figure["value"])

    ratio("duidelijk", "acknowledged_within_norm", kpis["duidelijk"]["acknowledged_within_norm"])
    ratio(
        "duidelijk",
        "long_open_with_interim_update",
        kpis["duidelijk"]["long_open_with_interim_update"],
    )
    for rtype, figure in kpis["betrouwbaar"]["answered_within_norm"].items():
        ratio("betrouwbaar", "answered_within_norm", figure, rtype)
    ratio("klant_geholpen", "resolved_of_answered", kpis["klant_geholpen"]["resolved_of_answered"])
    KPI_COUNT.labels("klant_geholpen", "escalations", "all").set(
        kpis["klant_geholpen"]["escalations"]
    )
    for name in ("first_contact_resolution", "repeat_contact_rate", "callbacks_on_time"):
        ratio("persoonlijk", name, kpis["persoonlijk"][name])
    KPI_COUNT.labels("leren", "feedback", "all").set(kpis["leren"]["feedback_count"])
    if kpis["leren"]["feedback_mean_score"] is not None:
        KPI_RATIO.labels("leren", "feedback_mean_score", "all").set(
            kpis["leren"]["feedback_mean_score"]
        )
    for n in kpis["anticiperen"]["notifications"]:
        KPI_COUNT.labels("anticiperen", "notifications", f"{n['kind']}/{n['audience']}").set(
            n["count"]
        )


async def refresh_lag(consumer: AIOKafkaConsumer, group: str) -> None:
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is None:
            continue
        try:
            position = await consumer.position(tp)
        except Exception:  # a partition being revoked right now
            log.debug("no position for %s right now", tp)
            continue
        CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(max(0, high - position))
