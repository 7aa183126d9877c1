-- Least privilege: the owner (who runs these migrations) owns every table; each process
-- kind connects as a member of one group role and may do only what it needs. None of them
-- may UPDATE, DELETE or TRUNCATE the access log, nor disable its triggers (only the owner
-- may ALTER a table). Roles are the cluster's, so they are created once (NOLOGIN; an
-- operator makes the LOGIN users in them, as `contactmoment dev up` does); the grants are
-- made in the schema being migrated (public, or a replay's copy) and in `privacy`.
-- depends: 0003_privacy

DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['contactmoment_api', 'contactmoment_projector',
                                'contactmoment_privacy'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role);
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role % does not exist and % may not create it', role, current_user
                    USING HINT = format('as a superuser: CREATE ROLE %I NOLOGIN; (or give %I '
                                        'CREATEROLE), then migrate again', role, current_user);
            END;
        END IF;
    END LOOP;
    -- Nobody but the owner creates objects in the read model's schema.
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO contactmoment_api, contactmoment_projector, '
                   'contactmoment_privacy', current_schema());
END
$$;

GRANT USAGE ON SCHEMA privacy TO contactmoment_api, contactmoment_projector, contactmoment_privacy;

-- api: reads the read model (the auditor reads the access log), keeps the data keys it
-- seals with (offer one, read whichever is kept). It writes nothing else: what it records
-- goes to Kafka.
GRANT SELECT ON customers, customer_identifiers, timeline, requests, request_history,
    signals, notifications, access_log TO contactmoment_api;
GRANT SELECT, INSERT ON privacy.data_keys TO contactmoment_api;
GRANT SELECT ON privacy.erasures TO contactmoment_api;

-- projector (and replay's projection): writes the read model, appends to the access log
-- and the ledger, reads data keys to open sealed text and erasures to drop erased history.
GRANT SELECT, INSERT, UPDATE ON customers, customer_identifiers, timeline, requests,
    request_history, signals, notifications TO contactmoment_projector;
GRANT SELECT, INSERT ON processed_events, access_log TO contactmoment_projector;
GRANT SELECT ON privacy.data_keys, privacy.erasures TO contactmoment_projector;

-- privacy (erasure and retention): purge a customer's rows, forget old text, delete data
-- keys, record erasures. The access log it may only read: it is the evidence, kept.
GRANT SELECT, DELETE ON customers, customer_identifiers, timeline, requests, request_history,
    signals, notifications TO contactmoment_privacy;
GRANT UPDATE ON timeline, request_history, customer_identifiers TO contactmoment_privacy;
GRANT SELECT ON access_log, processed_events TO contactmoment_privacy;
GRANT SELECT, DELETE ON privacy.data_keys TO contactmoment_privacy;
GRANT SELECT, INSERT, UPDATE ON privacy.erasures TO contactmoment_privacy;

-- The erasure and retention jobs VACUUM the data keys so deleted keys do not linger as dead
-- rows; PostgreSQL 17 lets a non-owner do that with MAINTAIN. (Before 17 the VACUUM is
-- skipped with a warning and autovacuum removes them later: docs/deployment.md.)
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE 'GRANT MAINTAIN ON privacy.data_keys TO contactmoment_privacy';
    END IF;
END
$$;
