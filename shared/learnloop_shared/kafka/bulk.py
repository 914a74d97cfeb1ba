"""A bulk consumer for high-volume topics (one event per recipient): aiokafka ``getmany`` batches
handed whole to a :class:`BatchProcessor`, without faust's per-event machinery.

Why not a faust agent: faust turns every record into an ``Event`` and passes it through its conductor
and stream one by one, and that per-event hand-off cost about as much as storing the event. ``getmany``
hands over the fetched record batches as they are.

Same guarantees as the faust agents: a batch's offsets are committed only after its side effects
are stored, and only once every batch before it is stored and committed; stopping drains (the
batches in hand finish and are committed, the rest is redelivered); partitions taken away by a
rebalance are committed first, and records of partitions no longer ours are left to the new owner
(consumers are idempotent, so the rare overlap is harmless).

Up to :data:`PIPELINE_DEPTH` batches are handled at once: while one batch's writes wait for the
database, the next is decoded and its writes are prepared and sent, so the database is not left idle
between batches (with one batch at a time it waits while each batch is decoded and prepared).
Handlers of these topics must therefore tolerate two batches in flight; they are idempotent, and
they may see a later batch stored before an earlier one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from ..settings import ServiceSettings
from .connection import client_options
from .consumers import BatchProcessor, RawMessage
from .progress import Membership, Progress

log = logging.getLogger(__name__)

# Read-ahead bounds (bytes): what a consumer that has fallen behind holds in memory. Both are set:
# Kafka honours the per-partition limit, while the local broker (Tansu) ignores it and honours only the
# per-fetch one. aiokafka's 50 MiB default lets a consumer that has fallen behind hold a large backlog in
# memory; 256 KiB (a few hundred deliveries) keeps its memory flat at the same throughput. A record batch
# larger than this is still fetched whole (both brokers).
MAX_PARTITION_FETCH_BYTES = 256 * 1024
FETCH_MAX_BYTES = 256 * 1024
PIPELINE_DEPTH = 2


class BulkConsumer:
    def __init__(
        self,
        settings: ServiceSettings,
        topic: str,
        group: str,
        processor: BatchProcessor,
        progress: Progress | None = None,
    ) -> None:
        self.group = group
        self.membership = Membership(group)
        self._progress = progress
        self._joined = asyncio.Event()
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._settings = settings
        self._processor = processor
        self._committed: dict[TopicPartition, int] = {}
        self._in_flight: deque[asyncio.Task[None]] = deque()  # oldest first
        self._loop: asyncio.Task[None] | None = None
        self._draining = False
        self._consumer = AIOKafkaConsumer(
            **client_options(settings),
            group_id=group,
            client_id=f"{group}-{settings.service_name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=settings.consumer_batch_size,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
            fetch_max_bytes=FETCH_MAX_BYTES,
            session_timeout_ms=int(settings.kafka_session_timeout_s * 1000),
            heartbeat_interval_ms=int(settings.kafka_heartbeat_interval_s * 1000),
            rebalance_timeout_ms=int(settings.kafka_rebalance_timeout_s * 1000),
        )
        self._consumer.subscribe([topic], listener=_Listener(self))

    async def start(self) -> None:
        await self._consumer.start()
        self._loop = asyncio.create_task(self._run(), name=f"consume {self.group}")

    @property
    def joined(self) -> bool:
        return self._joined.is_set()

    def request_rejoin(self) -> None:
        """Ask the group coordinator for a fresh join (aiokafka's coordinator, pinned version): forgets the
        coordinator, so that it is looked up again, and rejoins with the next round of its routine."""
        coordinator = self._consumer._coordinator
        if coordinator is not None:
            coordinator.coordinator_dead()
            coordinator.request_rejoin()

    async def wait_joined(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._joined.wait(), timeout)
        except TimeoutError:
            log.warning("consumer %s: no partitions assigned after %.0fs (still trying)", self.group, timeout)

    async def _run(self) -> None:
        window_ms = int(self._settings.consumer_batch_window_s * 1000)
        batch_size = self._settings.consumer_batch_size
        while not self._draining:
            try:
                fetched = await self._consumer.getmany(timeout_ms=max(window_ms, 1), max_records=batch_size)
            except KafkaError as exc:
                log.warning("consumer %s: fetch failed, retrying: %r", self.group, exc)
                await asyncio.sleep(1)
                continue
            records = [r for records in fetched.values() for r in records]
            try:
                await self._reap()  # a failed batch is noticed even if nothing new arrives
                if records:
                    await self._settle(keep=PIPELINE_DEPTH - 1)
            except Exception:
                log.exception("consumer %s: batch failed; it will be redelivered", self.group)
                await self._settle_quietly()  # batches after a failed one are not committed either
                await self._rewind()
                continue  # what was fetched since is fetched again after the rewind
            if not records:
                continue
            if self._draining:
                break  # not handled: redelivered to whoever owns the partition next
            before = self._in_flight[-1] if self._in_flight else None
            self._in_flight.append(asyncio.create_task(self._handle(records, before)))

    async def _rewind(self) -> None:
        """Go back to the committed offsets, so that nothing after them is skipped."""
        assigned = list(self._consumer.assignment())
        if not assigned:
            return
        committed = await self._consumer.seek_to_committed(*assigned)
        # aiokafka leaves a partition with nothing committed (or 0) where it is: back to where
        # auto_offset_reset="earliest" starts, or a first batch that failed would be skipped.
        fresh = [tp for tp, offset in committed.items() if not offset or offset < 0]
        if fresh:
            await self._consumer.seek_to_beginning(*fresh)

    async def _handle(self, records: list[ConsumerRecord[bytes, bytes]], before: asyncio.Task[None] | None) -> None:
        assigned = self._consumer.assignment()
        records = [r for r in records if TopicPartition(r.topic, r.partition) in assigned]
        if records:
            await self._processor.process([RawMessage.of(r) for r in records])
        if before is not None:
            await asyncio.shield(before)  # raises if it failed: then this batch is not committed either
        if not records:
            return
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            offsets[TopicPartition(r.topic, r.partition)] = r.offset + 1
        await self._commit(offsets)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
            self._committed.update(offsets)
        except KafkaError as exc:  # e.g. the partitions were reassigned meanwhile: redelivered there
            log.warning("consumer %s: commit failed (those events will be redelivered): %r", self.group, exc)

    async def _settle(self, keep: int = 0) -> None:
        """Wait until at most ``keep`` batches are in flight, oldest first; raises if one of them failed.
        Shielded: cancelling a waiter must not cancel a batch."""
        while len(self._in_flight) > keep:
            task = self._in_flight[0]
            try:
                await asyncio.shield(task)
            finally:
                if task.done() and self._in_flight and self._in_flight[0] is task:
                    self._in_flight.popleft()

    async def _reap(self) -> None:
        """Settle the batches that have finished, oldest first, without waiting for the others."""
        while self._in_flight and self._in_flight[0].done():
            await self._settle(keep=len(self._in_flight) - 1)

    async def _settle_quietly(self) -> None:
        while self._in_flight:
            try:
                await self._settle()
            except Exception as exc:
                log.debug("consumer %s: batch after a failed one not committed: %r", self.group, exc)

    async def stop(self, timeout: float) -> None:
        """Finish the batch in hand (within ``timeout``), commit it, leave the group."""
        self._draining = True
        try:
            await asyncio.wait_for(self._settle(), timeout)
        except TimeoutError:
            log.warning("consumer %s still busy after %.0fs; its batch will be redelivered", self.group, timeout)
        except Exception:
            log.exception("consumer %s: last batch failed; it will be redelivered", self.group)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settle_quietly(), timeout)
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        await self._consumer.stop()

    async def _load_committed(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            try:
                self._committed.setdefault(tp, await self._consumer.committed(tp) or 0)
            except Exception as exc:  # only the lag gauge depends on it
                log.debug("committed offset of %s unknown: %r", tp, exc)

    def lag(self) -> list[tuple[str, int, str, int]]:
        """(topic, partition, group, lag): fetch high watermark minus committed offset (see ``ConsumerRunner.lag``)."""
        rows = []
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            committed = self._committed.get(tp)
            if committed is None:
                continue
            rows.append((tp.topic, tp.partition, self.group, max(0, highwater - committed)))
        return rows


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: BulkConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        # Runs inside the rebalance: finish and commit the batch in hand before giving partitions up.
        self._owner.membership.left()
        for tp in revoked:
            self._owner._committed.pop(tp, None)
        if self._owner._progress is not None:
            self._owner._progress.forget((tp.topic, tp.partition) for tp in revoked)
        try:
            await self._owner._settle()
        except Exception:
            log.exception("consumer %s: batch failed during a rebalance; it will be redelivered", self._owner.group)
            await self._owner._settle_quietly()

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self._owner._joined.set()
        self._owner.membership.joined()
        if assigned:  # for the lag gauge; fetched aside so that the rebalance isn't held up
            task = asyncio.create_task(self._owner._load_committed(list(assigned)))
            self._owner._side_tasks.add(task)
            task.add_done_callback(self._owner._side_tasks.discard)
