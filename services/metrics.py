"""The Prometheus metrics every process serves, defined once and shared by every process.

The names are an interface: dashboards, alert rules (deploy/prometheus) and operations
read them, so a name stays once published; labels may grow.

Each process serves its own registry on /metrics; counters are per process, so several
workers never double-count (Prometheus sums them).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INGEST = Counter(
    "contactmoment_ingest_total",
    "Ingest calls per channel and result (accepted, duplicate, rejected, unavailable).",
    ["channel", "result"],
)
INGEST_EVENTS = Counter(
    "contactmoment_ingest_events_total",
    "Events acknowledged by Kafka per ingest channel and event type.",
    ["channel", "type"],
)
HTTP_DURATION = Histogram(
    "contactmoment_http_request_duration_seconds",
    "HTTP request duration per route template, method and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEADLETTERS = Counter(
    "contactmoment_deadletter_total",
    "Records sent to contact.deadletter.v1 per rejecting component.",
    ["source"],
)
EVENTS_PROCESSED = Counter(
    "contactmoment_events_processed_total",
    "Events applied by the stream worker, per event type.",
    ["type"],
)
EVENTS_PROJECTED = Counter(
    "contactmoment_events_projected_total",
    "Events read by the projector into PostgreSQL, per event type.",
    ["type"],
)
PROJECTION_LAG = Gauge(
    "contactmoment_projection_lag_seconds",
    "Seconds between the newest projected event's time and its projection.",
)
EVENT_LAG = Histogram(
    "contactmoment_event_lag_seconds",
    "Processing time minus event time, per processed event.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
DEADLINE_BREACHES = Counter(
    "contactmoment_deadline_breaches_total",
    "Requests that passed their due instant while open, per request type.",
    ["request_type"],
)
DETECTION_DELAY = Histogram(
    "contactmoment_deadline_detection_delay_seconds",
    "detected_at minus due_at of each breach.",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 60),
)
NOTIFICATIONS_SENT = Counter(
    "contactmoment_notifications_total",
    "Proactive notifications emitted, per kind and audience.",
    ["kind", "audience"],
)
REQUESTS_OPEN = Gauge(
    "contactmoment_requests_open",
    "Open requests in the read model (every projector reports the same figure: use max).",
    ["request_type"],
)
REQUESTS_OVERDUE = Gauge(
    "contactmoment_requests_overdue",
    "Open requests past their due instant (from the read model; use max across projectors).",
    ["request_type"],
)
KPI_RATIO = Gauge(
    "contactmoment_kpi_ratio",
    "Service-principle KPI shares over the last 30 days (docs/kpis.md).",
    ["principle", "kpi", "request_type"],
)
KPI_COUNT = Gauge(
    "contactmoment_kpi_count",
    "Service-principle KPI counts over the last 30 days (docs/kpis.md).",
    ["principle", "kpi", "kind"],
)
CONSUMER_LAG = Gauge(
    "contactmoment_consumer_lag",
    "Records not yet consumed, per topic partition, for this process's consumer group.",
    ["group", "topic", "partition"],
)

ACCESS_RECORDS = Counter(
    "contactmoment_access_records_total",
    "Access-log records published for staff reads of personal data, by granting role",
    ["role"],
)
