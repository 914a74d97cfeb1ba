"""Create the topics up front with explicit partition counts (auto-created topics get defaults)."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ..settings import ServiceSettings
from .connection import client_options, topic_configs, topic_partitions

log = logging.getLogger(__name__)


async def ensure_topics(settings: ServiceSettings) -> None:
    wanted = topic_partitions(settings)
    configs = topic_configs(settings)
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=n,
                replication_factor=settings.kafka_replication_factor,
                topic_configs=configs.get(name, {}),
            )
            for name, n in wanted.items()
            if name not in existing
        ]
        for topic in missing:
            # One at a time: a concurrent creator makes only that topic fail, not the batch.
            try:
                await admin.create_topics([topic])
                log.info(
                    "created topic %s (%d partitions)",
                    topic.name,
                    topic.num_partitions,
                    extra={"topic": topic.name, "partitions": topic.num_partitions},
                )
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
