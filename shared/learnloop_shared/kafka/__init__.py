"""Kafka plumbing: topic creation, publishing, batch consumers and dead letters."""
