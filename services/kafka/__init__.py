"""The Kafka adapter: the publisher port with its Kafka and in-memory adapters, dead letters,
topic administration."""
