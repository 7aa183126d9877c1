"""The PostgreSQL read model: its schema (migrations), the projection's writes and every named
query the API, the projector, privacy jobs and the CLI read it with."""
