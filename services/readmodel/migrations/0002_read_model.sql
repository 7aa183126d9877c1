-- The read model: everything staff tools read, projected from the contact.* topics.
-- Every row carries the event id it came from, so a replayed event changes nothing.
-- depends: 0001_processed_events

-- One row per (customer key, identifier): keys that share an identifier hash are one
-- customer seen through different channels (a web form with DigiD and e-mail links the
-- BSN key to the e-mail key).
CREATE TABLE customer_identifiers (
    customer_key text        NOT NULL,
    hash         text        NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    kind         text        NOT NULL CHECK (kind IN ('bsn', 'kvk', 'email', 'phone')),
    masked       text        NOT NULL,
    first_seen   timestamptz NOT NULL,
    PRIMARY KEY (customer_key, hash)
);
CREATE INDEX customer_identifiers_hash ON customer_identifiers (hash);

-- Everything that happened to a customer, newest first: contacts, request lifecycle,
-- documents, feedback, links. The staff timeline reads only this table.
CREATE TABLE timeline (
    event_id     uuid        PRIMARY KEY,
    customer_key text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    event_type   text        NOT NULL,
    channel      text,
    direction    text,
    subject      text,
    outcome      text,
    request_id   text,
    summary      text,
    data         jsonb       NOT NULL
);
CREATE INDEX timeline_customer_time ON timeline (customer_key, occurred_at DESC, event_id DESC);

CREATE TABLE requests (
    request_id      text        PRIMARY KEY,
    customer_key    text        NOT NULL,
    request_type    text        NOT NULL,
    subject         text        NOT NULL,
    channel         text        NOT NULL,
    department      text,
    vulnerable      boolean     NOT NULL DEFAULT false,
    opened_at       timestamptz NOT NULL,
    status          text        NOT NULL CHECK (status IN
                                  ('open', 'suspended', 'answered', 'resolved', 'withdrawn')),
    acknowledged_at timestamptz,
    answered_at     timestamptz,
    closed_at       timestamptz,
    due_at          timestamptz,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX requests_worklist ON requests (status, due_at NULLS LAST, opened_at);
CREATE INDEX requests_customer ON requests (customer_key);

-- Lifecycle events of a request, in the order they happened.
CREATE TABLE request_history (
    event_id     uuid        PRIMARY KEY,
    request_id   text        NOT NULL,
    customer_key text        NOT NULL,
    event_type   text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    data         jsonb       NOT NULL
);
CREATE INDEX request_history_request ON request_history (request_id, occurred_at, event_id);

CREATE TABLE signals (
    event_id     uuid        PRIMARY KEY,
    request_id   text        NOT NULL,
    customer_key text        NOT NULL,
    event_type   text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    due_at       timestamptz,
    detected_at  timestamptz,
    data         jsonb       NOT NULL
);
CREATE INDEX signals_request ON signals (request_id);

CREATE TABLE notifications (
    event_id        uuid        PRIMARY KEY,
    notification_id text        NOT NULL,
    customer_key    text        NOT NULL,
    kind            text        NOT NULL,
    audience        text        NOT NULL,
    channel         text,
    request_id      text,
    message         text        NOT NULL,
    occurred_at     timestamptz NOT NULL
);
CREATE INDEX notifications_customer ON notifications (customer_key, occurred_at DESC);

-- Adds counters per key: add_counts('{"phone": 2}', '{"phone": 1, "web": 1}') = {"phone": 3, "web": 1}.
CREATE FUNCTION add_counts(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(jsonb_object_agg(key, total), '{}'::jsonb)
    FROM (SELECT key, sum(value::int) AS total
          FROM (SELECT * FROM jsonb_each_text(a) UNION ALL SELECT * FROM jsonb_each_text(b)) AS kv
          GROUP BY key) AS summed
$$;

-- Per-key aggregates kept up to date by the projector (the view over linked keys is
-- computed at read time from these rows).
CREATE TABLE customers (
    customer_key     text        PRIMARY KEY,
    contact_count    integer     NOT NULL DEFAULT 0,
    channels         jsonb       NOT NULL DEFAULT '{}',
    inbound_channels jsonb       NOT NULL DEFAULT '{}',
    first_contact_at timestamptz,
    last_contact_at  timestamptz
);
