"""The local stack: a real Apache Kafka broker and PostgreSQL cluster under `.local/`."""
