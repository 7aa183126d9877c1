"""The KPI page, /ui/kpis: the KPIs of the four service principles for a chosen window, and
a trend per week, each as a server-drawn SVG chart (services/api/charts.py) with its
figures in a table for screen readers. No script, stylesheet or font from elsewhere: the
page works offline.

The figures are services/readmodel/kpis.py's `compute`, the same as GET /v1/kpis and the
projector's gauges: once for the window and once per week of it (the weeks start on a
Monday in Amsterdam; the first and last are cut to the window), at most the last
TREND_WEEKS weeks. KPIs are counts, no personal data: the page records nothing in the
access log. Its filters are dates, so the form is a GET.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api import policy
from services.api.charts import Point, bar_chart
from services.api.database import connection
from services.api.state import services
from services.api.ui_common import AMSTERDAM, render
from services.api.ui_lists import _signed_in_staff, _timed, _to_login
from services.readmodel import kpis

router = APIRouter(prefix="/ui", include_in_schema=False)

TREND_WEEKS = 26
DEFAULT_DAYS = 28
RANGE_YEARS = 5  # as GET /v1/kpis


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    percent: bool
    pick: Callable[[dict[str, Any]], Any]  # the figure in compute()'s document


def _answered_within_norm(doc: dict[str, Any]) -> dict[str, Any]:
    """Answered within the norm over every request type (the document has one per type)."""
    per_type = doc["betrouwbaar"]["answered_within_norm"].values()
    numerator = sum(s["numerator"] for s in per_type)
    denominator = sum(s["denominator"] for s in per_type)
    value = numerator / denominator if denominator else None
    return {"numerator": numerator, "denominator": denominator, "value": value}


def _notifications(doc: dict[str, Any]) -> int:
    return sum(n["count"] for n in doc["anticiperen"]["notifications"])


# The four service principles and the KPIs that measure each (definitions: docs/kpis.md).
PRINCIPLES: list[tuple[str, str, list[Kpi]]] = [
    (
        "duidelijk",
        "1. Duidelijk communiceren. Afspraak = afspraak.",
        [
            Kpi(
                "ontvangst",
                "Ontvangst op tijd bevestigd",
                True,
                lambda d: d["duidelijk"]["acknowledged_within_norm"],
            ),
            Kpi(
                "tussenbericht",
                "Lang open met tussenbericht",
                True,
                lambda d: d["duidelijk"]["long_open_with_interim_update"],
            ),
            Kpi("binnen-norm", "Beantwoord binnen de norm", True, _answered_within_norm),
        ],
    ),
    (
        "meedenken",
        "2. Meedenken. Helpen waar nodig.",
        [
            Kpi(
                "opgelost",
                "Opgelost van beantwoord",
                True,
                lambda d: d["klant_geholpen"]["resolved_of_answered"],
            ),
            Kpi("escalaties", "Escalaties", False, lambda d: d["klant_geholpen"]["escalations"]),
        ],
    ),
    (
        "menselijk",
        "3. Menselijk werken. Persoonlijke dienstverlening.",
        [
            Kpi(
                "eerste-contact",
                "Opgelost bij het eerste contact",
                True,
                lambda d: d["persoonlijk"]["first_contact_resolution"],
            ),
            Kpi(
                "herhaald",
                "Klanten met herhaald contact",
                True,
                lambda d: d["persoonlijk"]["repeat_contact_rate"],
            ),
            Kpi(
                "terugbellen",
                "Terugbelverzoeken op tijd",
                True,
                lambda d: d["persoonlijk"]["callbacks_on_time"],
            ),
        ],
    ),
    (
        "leren",
        "4. Leren. Anticiperen. Vooruitkijken.",
        [
            Kpi("feedback", "Feedback (aantal)", False, lambda d: d["leren"]["feedback_count"]),
            Kpi("signaleringen", "Proactieve berichten", False, _notifications),
        ],
    ),
]


class BadWindow(ValueError):
    """A window the page cannot show; the message names the field, in Dutch."""


def window(query: dict[str, str], today: date) -> tuple[date, date]:
    """The chosen days [van, tot] (both included); default the last DEFAULT_DAYS days."""
    try:
        last = date.fromisoformat(query["tot"]) if query.get("tot") else today
    except ValueError:
        raise BadWindow("Tot en met: een datum als 2026-03-31.") from None
    try:
        first = (
            date.fromisoformat(query["van"])
            if query.get("van")
            else last - timedelta(days=DEFAULT_DAYS - 1)
        )
    except ValueError:
        raise BadWindow("Van: een datum als 2026-03-01.") from None
    if first > last:
        raise BadWindow("Van: ligt na 'tot en met'; kies een eerdere datum.")
    if (last - first).days + 1 > 365 * RANGE_YEARS + 1:
        raise BadWindow(f"Van: de periode is ten hoogste {RANGE_YEARS} jaar.")
    return first, last


def _instant(day: date) -> datetime:
    """Midnight in Amsterdam at the start of `day`, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM).astimezone(UTC)


def weeks(first: date, last: date) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of each Monday-to-Sunday week that overlaps
    [first, last], cut to it; the last TREND_WEEKS of them."""
    out: list[tuple[str, date, date]] = []
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        sunday = monday + timedelta(days=6)
        out.append((f"wk {monday.isocalendar().week}", max(monday, first), min(sunday, last)))
        monday += timedelta(days=7)
    return out[-TREND_WEEKS:]


def figure(kpi: Kpi, doc: dict[str, Any]) -> dict[str, Any]:
    """A KPI's figure for the page: value (percent or count, None if nothing measured),
    and for a share its numerator and denominator."""
    raw = kpi.pick(doc)
    if not kpi.percent:
        return {"value": float(raw), "numerator": None, "denominator": None}
    value = None if raw["value"] is None else 100.0 * raw["value"]
    return {"value": value, "numerator": raw["numerator"], "denominator": raw["denominator"]}


@router.get("/kpis")
async def kpi_page(request: Request) -> Response:
    started = time.perf_counter()
    staff = await _signed_in_staff(request)
    if staff is None:
        return _to_login("/ui/kpis")
    if not set(staff.roles) & set(policy.READERS):  # as GET /v1/kpis
        return _timed(
            render(
                "kpis.html",
                403,
                current="kpis",
                error="Voor de KPI's is de rol kcc, afdeling of regieteam nodig.",
                first=None,
                last=None,
                principles=[],
            ),
            started,
        )
    today = datetime.now(AMSTERDAM).date()
    try:
        first, last = window(dict(request.query_params), today)
    except BadWindow as exc:
        return _timed(
            render(
                "kpis.html",
                400,
                current="kpis",
                error=str(exc),
                first=request.query_params.get("van", ""),
                last=request.query_params.get("tot", ""),
                principles=[],
            ),
            started,
        )
    catalogue = services(request).catalogue
    periods = weeks(first, last)
    async with connection(request) as conn:
        whole = await kpis.compute(
            conn, catalogue, _instant(first), _instant(last + timedelta(days=1))
        )
        trend = [
            await kpis.compute(conn, catalogue, _instant(a), _instant(b + timedelta(days=1)))
            for _, a, b in periods
        ]
    computed = (time.perf_counter() - started) * 1000
    principles = []
    for pid, title, measures in PRINCIPLES:
        shown = []
        for kpi in measures:
            per_week = [
                {"label": label, "from": a, "to": b, **figure(kpi, doc)}
                for (label, a, b), doc in zip(periods, trend, strict=True)
            ]
            chart_title = f"{kpi.label} per week" + (" (percentage)" if kpi.percent else "")
            shown.append(
                {
                    "id": kpi.key,
                    "label": kpi.label,
                    "percent": kpi.percent,
                    "window": figure(kpi, whole),
                    "weeks": per_week,
                    "svg": bar_chart(
                        f"grafiek-{kpi.key}",
                        chart_title,
                        [Point(w["label"], w["value"]) for w in per_week],
                        percent=kpi.percent,
                    ),
                }
            )
        principles.append({"id": pid, "title": title, "kpis": shown})
    response = render(
        "kpis.html",
        current="kpis",
        error=None,
        first=first.isoformat(),
        last=last.isoformat(),
        principles=principles,
        week_count=len(periods),
        capped=len(periods) == TREND_WEEKS,
    )
    response.headers["Server-Timing"] = f"kpi;dur={computed:.1f}"
    return _timed(response, started)
