"""The bulk consumer handles two batches at once but commits in order, and never past a failed batch."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from learnloop_shared.kafka.bulk import BulkConsumer
from learnloop_shared.kafka.consumers import RawMessage
from learnloop_shared.settings import ServiceSettings

from ..helpers import eventually, local_settings


class Gate:
    """A processor that records what it sees; offset 0's first batch waits for ``release``, then fails
    if told to, while later batches go straight through."""

    def __init__(self, fail_first: bool) -> None:
        self.seen: list[int] = []
        self.release = asyncio.Event()
        self.fail_first = fail_first

    async def process(self, messages: list[RawMessage]) -> None:
        offsets = [m.offset for m in messages]
        self.seen += offsets
        if offsets[0] == 0 and self.seen.count(0) == 1:
            await self.release.wait()
            if self.fail_first:
                raise RuntimeError("batch failed")


async def committed(infra, group: str, topic: str) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=[TopicPartition(topic, 0)])
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, 0))
    return meta.offset if meta is not None and meta.offset >= 0 else None


async def run(infra, make_topics, unique: str, fail_first: bool) -> Gate:
    topic, group = f"bulk-{unique}", f"g-{unique}"
    await make_topics(topic, partitions=1)
    settings = local_settings(ServiceSettings, infra, service_name=f"test-{unique}", consumer_batch_size=1)
    gate = Gate(fail_first)
    consumer = BulkConsumer(settings, topic, group, gate)  # type: ignore[arg-type]
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    await consumer.start()
    try:
        await consumer.wait_joined(20)
        for i in range(3):
            await producer.send_and_wait(topic, b"x%d" % i, partition=0)

        async def second_done() -> bool:
            return 1 in gate.seen

        await eventually(second_done)  # batch 1 handled while batch 0 is still in hand...
        await asyncio.sleep(0.5)
        assert await committed(infra, group, topic) is None  # ...but nothing is committed past batch 0
        gate.release.set()

        async def all_committed() -> bool:
            return await committed(infra, group, topic) == 3

        await eventually(all_committed)
        return gate
    finally:
        gate.release.set()
        await consumer.stop(5)
        await producer.stop()


async def test_a_later_batch_is_committed_only_after_the_one_before(infra, make_topics, unique):
    gate = await run(infra, make_topics, unique, fail_first=False)
    assert gate.seen == [0, 1, 2]


async def test_a_failed_last_batch_is_handled_again_without_new_records(infra, make_topics, unique):
    topic, group = f"bulk-{unique}", f"g-{unique}"
    await make_topics(topic, partitions=1)
    settings = local_settings(ServiceSettings, infra, service_name=f"test-{unique}", consumer_batch_size=1)
    seen: list[int] = []

    class FailLastOnce:
        async def process(self, messages: list[RawMessage]) -> None:
            seen.extend(m.offset for m in messages)
            if messages[0].offset == 1 and seen.count(1) == 1:
                raise RuntimeError("batch failed")

    consumer = BulkConsumer(settings, topic, group, FailLastOnce())  # type: ignore[arg-type]
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    await consumer.start()
    try:
        await consumer.wait_joined(20)
        for i in range(2):
            await producer.send_and_wait(topic, b"x%d" % i, partition=0)

        async def all_committed() -> bool:
            return await committed(infra, group, topic) == 2

        await eventually(all_committed)
        assert seen == [0, 1, 1]
    finally:
        await consumer.stop(5)
        await producer.stop()


async def test_batches_after_a_failed_one_are_handled_again(infra, make_topics, unique):
    gate = await run(infra, make_topics, unique, fail_first=True)
    assert gate.seen[:2] == [0, 1]
    assert gate.seen[2:] == [0, 1, 2]  # back to the committed offset: both redelivered, then the rest
