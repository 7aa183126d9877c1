-- The idempotency ledger: every consumer that writes to the read model records the
-- CloudEvent id it applied in the same transaction, so a redelivered event is skipped.
-- depends:

CREATE TABLE processed_events (
    event_id     uuid        PRIMARY KEY,
    event_type   text        NOT NULL,
    customer_key text        NOT NULL CHECK (customer_key ~ '^k-[0-9a-f]{32}$'),
    source_topic text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX processed_events_customer ON processed_events (customer_key);
