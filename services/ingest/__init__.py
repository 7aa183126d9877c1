"""Channel adapters: each channel's native payload mapped to contact events (pure), and the
edges that receive payloads (HTTP, SMTP) and publish the events to Kafka."""
