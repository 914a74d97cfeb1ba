"""Recovery after the broker lost its topics: each service notices a new Kafka cluster and re-sends.

The local broker keeps topics in memory (a restart starts an empty cluster with a new cluster id)
while the databases persist; in production the same happens if a service is pointed at a new cluster.
Events the old cluster held but nobody had consumed yet would be lost. So each service records, per
recovery step, the cluster id it last ran against, in its own database. At start-up, if the broker's
cluster id differs from the recorded one, the step runs before consumers start, and only then is the
new id recorded (a crash in between runs the step again):

- ``outbox`` (processes that serve the API, where the outbox relay runs): re-send the outbox entries
  sent within ``kafka_recovery_window_s``;
- service-specific steps for consumer processes (share re-drives recent and unfinished fan-outs).

Every consumer deduplicates by event id, so what the new cluster gets twice is stored once.
A database without a record (first start) records the id and recovers nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from aiokafka.admin import AIOKafkaAdminClient
from pymongo.asynchronous.database import AsyncDatabase

from .events.envelope import utcnow
from .kafka.connection import client_options
from .mongo import Doc
from .settings import ServiceSettings

log = logging.getLogger(__name__)

Step = Callable[[timedelta], Awaitable[int]]  # re-sends what was sent within the window; returns how many


async def broker_cluster_id(settings: ServiceSettings) -> str:
    admin = AIOKafkaAdminClient(**client_options(settings), client_id=f"{settings.service_name}-recovery")
    await admin.start()
    try:
        return str((await admin.describe_cluster())["cluster_id"])
    finally:
        await admin.close()


class ClusterMarks:
    """Per recovery step, the Kafka cluster id it last ran against (collection ``kafka_clusters``)."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._coll = db["kafka_clusters"]

    async def changed(self, step: str, cluster_id: str) -> bool:
        doc = await self._coll.find_one({"_id": step})
        if doc is None:
            await self.record(step, cluster_id)
            return False
        return bool(doc["cluster_id"] != cluster_id)

    async def record(self, step: str, cluster_id: str) -> None:
        await self._coll.update_one({"_id": step}, {"$set": {"cluster_id": cluster_id, "at": utcnow()}}, upsert=True)


async def recover_if_new_cluster(
    marks: ClusterMarks, cluster_id: str, steps: Mapping[str, Step], window: timedelta
) -> None:
    for name, step in steps.items():
        if not await marks.changed(name, cluster_id):
            continue
        log.warning(
            "new Kafka cluster %s (its topics start empty): re-sending %s from the last %s",
            cluster_id,
            name,
            window,
            extra={"step": name},
        )
        count = await step(window)
        await marks.record(name, cluster_id)
        log.warning("re-sent %d from %s to the new Kafka cluster", count, name, extra={"step": name})
