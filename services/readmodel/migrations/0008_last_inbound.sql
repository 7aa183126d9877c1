-- Each customer's last inbound contact, so the repeat-contact KPI's denominator (distinct
-- customers with an inbound contact in a window) is an index range count over customers
-- whenever no inbound contact lies at or after the window's end: the usual "last 30 days /
-- year / five years" windows, which otherwise hash every inbound contact of the window
-- (services/readmodel/kpis.py REPEAT_CONTACT). Kept by the projector with the other
-- counters (GREATEST, so a repeat or late event changes nothing it should not).
-- depends: 0007_kpi_aggregates

ALTER TABLE customers ADD COLUMN last_inbound_at timestamptz;

UPDATE customers c SET last_inbound_at = t.last
FROM (SELECT customer_key, max(occurred_at) AS last FROM timeline
      WHERE direction = 'inbound' GROUP BY customer_key) AS t
WHERE t.customer_key = c.customer_key;

CREATE INDEX customers_last_inbound ON customers (last_inbound_at)
    WHERE last_inbound_at IS NOT NULL;
