-- Indexes for every named staff and resident query at real volume (years of a
-- municipality's contacts and requests, identifiers shared by thousands of customers).
-- tests/integration/test_query_plans.py EXPLAINs each query on generated data and checks
-- it uses these; docs/staff.md ("Indexes") says which query uses which.
-- depends: 0005_roles

-- A key's identifiers by kind (cluster, the linking rule's claims on a number thousands of
-- customers share): an index-only read of the carriers' strong identifiers.
CREATE INDEX customer_identifiers_key_kind ON customer_identifiers (customer_key, kind, hash);

-- The worklist: one partial index per status group, in the worklist's order, so a page is
-- the first `limit` entries of an index (open, overdue, closed; per department; per type).
-- The queries name the status set as a literal (worklist.py) so the planner can match it.
CREATE INDEX requests_open_due ON requests (due_at NULLS LAST, opened_at)
    WHERE status IN ('open', 'suspended');
CREATE INDEX requests_open_department_due ON requests (department, due_at NULLS LAST, opened_at)
    WHERE status IN ('open', 'suspended');
CREATE INDEX requests_open_type_due ON requests (request_type, due_at NULLS LAST, opened_at)
    WHERE status IN ('open', 'suspended');
CREATE INDEX requests_closed_due ON requests (due_at NULLS LAST, opened_at)
    WHERE status IN ('answered', 'resolved', 'withdrawn');
CREATE INDEX requests_closed_department_due ON requests (department, due_at NULLS LAST, opened_at)
    WHERE status IN ('answered', 'resolved', 'withdrawn');
CREATE INDEX requests_closed_type_due ON requests (request_type, due_at NULLS LAST, opened_at)
    WHERE status IN ('answered', 'resolved', 'withdrawn');
-- The partial indexes cover every status: the one over (status, due_at, opened_at) is unused.
DROP INDEX requests_worklist;

-- The KPI window: requests open at some time during [start, end) are those not closed
-- before start (kpis.py: COALESCE(closed_at, 'infinity') >= start), few among years.
CREATE INDEX requests_closed_or_open ON requests ((COALESCE(closed_at, 'infinity'::timestamptz)));

-- Overdue's breach test and the request detail: a request's signals of one type.
CREATE INDEX signals_request_type ON signals (request_id, event_type);
DROP INDEX signals_request;
-- Escalations in the KPI window.
CREATE INDEX signals_type_time ON signals (event_type, occurred_at);

-- The KPI fetch's interim-update test per request.
CREATE INDEX request_history_interim ON request_history (request_id)
    WHERE event_type = 'nl.contactmoment.request.interim-update.v1';

-- The KPI fetch's "outbound contact before the answer" per request (it had no index on
-- timeline.request_id: a scan of the whole timeline per request).
CREATE INDEX timeline_request_outbound ON timeline (request_id, occurred_at)
    WHERE event_type = 'nl.contactmoment.contact.recorded.v1' AND direction = 'outbound'
      AND request_id IS NOT NULL;
-- KPI windows over the timeline: feedback and contacts by type and time, inbound customers.
CREATE INDEX timeline_type_time ON timeline (event_type, occurred_at);
CREATE INDEX timeline_inbound_time ON timeline (occurred_at, customer_key)
    WHERE direction = 'inbound';

-- A request's notifications (detail) and the KPI window's notifications.
CREATE INDEX notifications_request ON notifications (request_id, occurred_at)
    WHERE request_id IS NOT NULL;
CREATE INDEX notifications_time ON notifications (occurred_at);
CREATE INDEX notifications_kind_time ON notifications (kind, occurred_at, customer_key);

-- The access log in its order (newest first, then event id): per customer, per staff member.
CREATE INDEX access_log_customer_order ON access_log (customer_key, occurred_at DESC, event_id);
DROP INDEX access_log_customer;
CREATE INDEX access_log_staff ON access_log (staff_subject, occurred_at DESC, event_id);
CREATE INDEX access_log_time_order ON access_log (occurred_at DESC, event_id);
DROP INDEX access_log_time;
