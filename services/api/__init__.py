"""The HTTP API: ingest webhooks, staff endpoints, staff page, health and metrics."""
