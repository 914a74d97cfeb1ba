"""The bulk consumer handles two batches at once but commits in order, and never past a failed batch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from learnloop_shared.kafka.bulk import BulkConsumer
from learnloop_shared.kafka.consumers import RawMessage
from learnloop_shared.settings import ServiceSettings

from ..helpers import eventually, local_settings


class Recorder:
    """A processor that records the offsets it sees; ``hold`` decides per batch (its first offset and
    how often that offset was seen) whether to wait for ``release`` and whether to fail."""

    def __init__(self, hold: Callable[[int, int], tuple[bool, bool]]) -> None:
        self.seen: list[int] = []
        self.release = asyncio.Event()
        self._hold = hold

    async def process(self, messages: list[RawMessage]) -> None:
        first = messages[0].offset
        self.seen += [m.offset for m in messages]
        wait, fail = self._hold(first, self.seen.count(first))
        if wait:
            await self.release.wait()
        if fail:
            raise RuntimeError("batch failed")


# send(n) produces n records and returns a reader of the group's committed offset.
Send = Callable[[int], Awaitable[Callable[[], Awaitable[int | None]]]]


@contextlib.asynccontextmanager
async def consuming(infra, make_topics, unique: str, processor: Recorder) -> AsyncIterator[Send]:
    """A bulk consumer (one record per batch) on a fresh one-partition topic; yields a way to produce."""
    topic, group = f"bulk-{unique}", f"g-{unique}"
    await make_topics(topic, partitions=1)
    settings = local_settings(ServiceSettings, infra, service_name=f"test-{unique}", consumer_batch_size=1)
    consumer = BulkConsumer(settings, topic, group, processor)  # type: ignore[arg-type]
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    await consumer.start()
    try:
        await consumer.wait_joined(20)

        async def send(n: int) -> Callable[[], Awaitable[int | None]]:
            for i in range(n):
                await producer.send_and_wait(topic, b"x%d" % i, partition=0)
            return lambda: committed(infra, group, topic)

        yield send
    finally:
        processor.release.set()
        await consumer.stop(5)
        await producer.stop()


async def committed(infra, group: str, topic: str) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=[TopicPartition(topic, 0)])
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, 0))
    return meta.offset if meta is not None and meta.offset >= 0 else None


async def reaches(read: Callable[[], Awaitable[int | None]], offset: int) -> None:
    async def check() -> bool:
        return await read() == offset

    await eventually(check)


async def first_batch_held(infra, make_topics, unique: str, fail: bool) -> list[int]:
    """Batch 0 waits while batch 1 is handled; nothing may be committed until batch 0 is done."""
    rec = Recorder(lambda first, times: (first == 0 and times == 1, fail and first == 0 and times == 1))
    async with consuming(infra, make_topics, unique, rec) as send:
        read = await send(3)

        async def second_done() -> bool:
            return 1 in rec.seen

        await eventually(second_done)  # batch 1 handled while batch 0 is still in hand...
        await asyncio.sleep(0.5)
        assert await read() is None  # ...but nothing is committed past batch 0
        rec.release.set()
        await reaches(read, 3)
    return rec.seen


async def test_a_later_batch_is_committed_only_after_the_one_before(infra, make_topics, unique):
    assert await first_batch_held(infra, make_topics, unique, fail=False) == [0, 1, 2]


async def test_batches_after_a_failed_one_are_handled_again(infra, make_topics, unique):
    seen = await first_batch_held(infra, make_topics, unique, fail=True)
    assert seen[:2] == [0, 1]
    assert seen[2:] == [0, 1, 2]  # back to the committed offset: both redelivered, then the rest


async def test_a_failed_last_batch_is_handled_again_without_new_records(infra, make_topics, unique):
    rec = Recorder(lambda first, times: (False, first == 1 and times == 1))
    async with consuming(infra, make_topics, unique, rec) as send:
        await reaches(await send(2), 2)
    assert rec.seen == [0, 1, 1]
