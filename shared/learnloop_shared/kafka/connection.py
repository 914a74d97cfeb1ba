"""Kafka connection options shared by producers, admin clients and consumers."""

from __future__ import annotations

from typing import Any

from ..settings import ServiceSettings


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        opts["sasl_mechanism"] = settings.kafka_sasl_mechanism
        opts["sasl_plain_username"] = settings.kafka_sasl_username
        password = settings.kafka_sasl_password
        opts["sasl_plain_password"] = password.get_secret_value() if password is not None else None
    if settings.kafka_security_protocol.upper().endswith("SSL"):
        from aiokafka.helpers import create_ssl_context

        opts["ssl_context"] = create_ssl_context()
    return opts


def topic_partitions(settings: ServiceSettings) -> dict[str, int]:
    t, p = settings.topics, settings.partitions
    return {
        t.shares: p.shares,
        t.deliveries: p.deliveries,
        t.acknowledgements: p.acknowledgements,
        t.share_requests: p.share_requests,
        t.directory: p.directory,
        t.dead_letters: p.dead_letters,
    }


def topic_configs(settings: ServiceSettings) -> dict[str, dict[str, str]]:
    """Topic-level configuration of topics created at start-up (others get the broker's defaults).

    The directory topic is compacted: the latest event of each user or team is kept for good, so a new
    copy can be built by reading the topic from the start (``POST /v1/directory/republish`` re-sends it all).
    """
    return {settings.topics.directory: {"cleanup.policy": "compact"}}
