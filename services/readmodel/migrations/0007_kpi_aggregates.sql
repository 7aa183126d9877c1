-- Incremental KPI aggregates (docs/kpis.md, "How the figures are kept"): GET /v1/kpis and
-- the gauges read a window's days from kpi_daily and only its two partial edge days from
-- kpi_contrib, so a five-year window costs a few thousand small rows, not the history.
-- The projector keeps both in the transaction of the batch whose rows they count
-- (services/readmodel/kpi_store.py), so a replay builds them identically. No personal data:
-- a source is a request id or an event id, never a customer key.
-- depends: 0006_indexes

-- What one request or one event currently contributes to one metric, at its reference
-- instant. A request's rows are replaced whenever its facts change; an event's are
-- written once. `until` is only set for long_open_brief (the instant the request would
-- have become long-open; it closed before that).
CREATE TABLE kpi_contrib (
    source      text        NOT NULL,
    metric      text        NOT NULL,
    key         text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    until       timestamptz,
    numerator   bigint      NOT NULL,
    denominator bigint      NOT NULL,
    PRIMARY KEY (source, metric)
);
-- The partial edge days of a window, and the short-lived long-open requests.
CREATE INDEX kpi_contrib_at ON kpi_contrib (at, metric, key, numerator, denominator);
CREATE INDEX kpi_contrib_brief ON kpi_contrib (at, until, numerator, denominator)
    WHERE metric = 'long_open_brief';

-- The sums of kpi_contrib per UTC day, metric and key (long_open_brief excepted).
CREATE TABLE kpi_daily (
    day         date   NOT NULL,
    metric      text   NOT NULL,
    key         text   NOT NULL DEFAULT '',
    numerator   bigint NOT NULL,
    denominator bigint NOT NULL,
    PRIMARY KEY (day, metric, key)
);
CREATE INDEX kpi_daily_metric_day ON kpi_daily (metric, day, key, numerator, denominator);

GRANT SELECT ON kpi_contrib, kpi_daily TO contactmoment_api, contactmoment_privacy;
GRANT SELECT, INSERT, UPDATE, DELETE ON kpi_contrib, kpi_daily TO contactmoment_projector;
