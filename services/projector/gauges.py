"""Read-model gauges the projector refreshes: open and overdue work, KPIs of the last 30
days, and its own consumer lag. Same reads as the API (services/readmodel/), so both agree."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer

from domain.clock.norms import Catalogue
from services.metrics import CONSUMER_LAG, KPI_COUNT, KPI_RATIO, REQUESTS_OPEN, REQUESTS_OVERDUE
from services.readmodel import kpis, worklist

log = logging.getLogger(__name__)
WINDOW = timedelta(days=30)
REQUEST_TYPES = ("question", "callback", "complaint", "application", "report")


async def refresh_read_model(pool: asyncpg.Pool, catalogue: Catalogue) -> None:
    """Set the open/overdue gauges per request type and the KPI gauges of the last 30 days."""
    async with pool.acquire() as conn:
        work = await worklist.open_and_overdue(conn)
        for rtype in REQUEST_TYPES:
            open_, overdue = work.get(rtype, (0, 0))
            REQUESTS_OPEN.labels(rtype).set(open_)
            REQUESTS_OVERDUE.labels(rtype).set(overdue)
        now = datetime.now(UTC)
        set_kpis(await kpis.compute(conn, catalogue, now - WINDOW, now))


def set_kpis(figures: dict[str, Any]) -> None:
    """The KPI document as gauges (shares as ratios, counts as counts)."""

    def ratio(principle: str, kpi: str, figure: dict[str, Any], rtype: str = "all") -> None:
        if figure["value"] is not None:
            KPI_RATIO.labels(principle, kpi, rtype).set(figure["value"])

    ratio("duidelijk", "acknowledged_within_norm", figures["duidelijk"]["acknowledged_within_norm"])
    ratio(
        "duidelijk",
        "long_open_with_interim_update",
        figures["duidelijk"]["long_open_with_interim_update"],
    )
    for rtype, figure in figures["betrouwbaar"]["answered_within_norm"].items():
        ratio("betrouwbaar", "answered_within_norm", figure, rtype)
    ratio(
        "klant_geholpen", "resolved_of_answered", figures["klant_geholpen"]["resolved_of_answered"]
    )
    KPI_COUNT.labels("klant_geholpen", "escalations", "all").set(
        figures["klant_geholpen"]["escalations"]
    )
    for name in ("first_contact_resolution", "repeat_contact_rate", "callbacks_on_time"):
        ratio("persoonlijk", name, figures["persoonlijk"][name])
    KPI_COUNT.labels("leren", "feedback", "all").set(figures["leren"]["feedback_count"])
    if figures["leren"]["feedback_mean_score"] is not None:
        KPI_RATIO.labels("leren", "feedback_mean_score", "all").set(
            figures["leren"]["feedback_mean_score"]
        )
    for n in figures["anticiperen"]["notifications"]:
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
