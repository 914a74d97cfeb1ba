from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from learnloop_shared.local.servers import LocalInfra
from pymongo import AsyncMongoClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
async def mongo(infra: LocalInfra) -> AsyncIterator[AsyncMongoClient]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
async def make_topics(infra: LocalInfra):
    async def create(*names: str, partitions: int = 2) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names])
        finally:
            await admin.close()

    return create
