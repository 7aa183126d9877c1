"""`contactmoment simulate`: realistic Dutch contact traffic through the ingest API."""
