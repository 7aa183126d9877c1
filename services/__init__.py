"""Everything around the stream: ingest, HTTP API, projector, CLI, settings, local stack."""
