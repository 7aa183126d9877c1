"""The projector: contact.* topics into the PostgreSQL read model, idempotent by event id."""
