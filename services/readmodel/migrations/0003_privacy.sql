-- Privacy: data keys and erasures (schema `privacy`, shared by every read-model schema,
-- because they are not projected from Kafka: they are what makes Kafka's copy unreadable),
-- and the access log (projected from contact.access.v1 like the rest of the read model).
-- depends: 0002_read_model

CREATE SCHEMA IF NOT EXISTS privacy;

-- One AES-256 data key per customer key and calendar month, wrapped by the master key.
-- Deleting a row crypto-shreds every text sealed with it, on Kafka included.
CREATE TABLE IF NOT EXISTS privacy.data_keys (
    key_id       text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{32}$'),
    customer_key text        NOT NULL,
    period       date        NOT NULL CHECK (extract(day FROM period) = 1),
    wrapped      bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (customer_key, period)
);
CREATE INDEX IF NOT EXISTS data_keys_period ON privacy.data_keys (period);

-- Customers erased on request (AVG art. 17): the projector drops their earlier events on
-- every replay. Holds the pseudonymous key only.
CREATE TABLE IF NOT EXISTS privacy.erasures (
    customer_key text        PRIMARY KEY,
    erased_at    timestamptz NOT NULL,
    keys_deleted integer     NOT NULL,
    rows_purged  integer     NOT NULL
);

-- Who read whose personal data, when and why; append-only.
CREATE TABLE access_log (
    event_id            uuid        PRIMARY KEY,
    occurred_at         timestamptz NOT NULL,
    customer_key        text        NOT NULL,
    trace_id            text        NOT NULL,
    span_id             text        NOT NULL,
    name                text        NOT NULL,
    endpoint            text        NOT NULL,
    purpose             text        NOT NULL,
    processing_activity text,
    staff_subject       text        NOT NULL,
    role                text        NOT NULL,
    department          text
);
CREATE INDEX access_log_customer ON access_log (customer_key, occurred_at DESC);
CREATE INDEX access_log_time ON access_log (occurred_at DESC);

CREATE FUNCTION access_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_is_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_is_append_only();
