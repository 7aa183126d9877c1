"""The projector: contact.* topics into the PostgreSQL read model, idempotent by event id.
`run.py` consumes, `apply.py` applies one batch (ledger, unseal, plan, write, lifecycle),
`replay.py` rebuilds into a fresh schema, `gauges.py` refreshes the read-model gauges."""
