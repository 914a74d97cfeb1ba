"""Runs a service's consumers: a faust app (its own web server disabled) and bulk consumers.

Faust is created per process by :class:`ConsumerRunner` (never at import time) and started and
stopped from the FastAPI lifespan. This is the one place that tunes faust for our needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from opentelemetry.trace import Tracer

from .. import metrics
from ..settings import ServiceSettings
from .bulk import FETCH_MAX_BYTES, BulkConsumer
from .consumers import BatchProcessor, ConsumerSpec, RawMessage
from .dead_letters import DeadLetters
from .progress import Membership, Progress, Stall

log = logging.getLogger(__name__)

_FETCH_WAIT_ATTR = "_learnloop_fetch_max_wait_ms"
_original_create_worker_consumer = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    """faust 0.15.3 hard-codes fetch_max_wait_ms=1500 (a long wait per hop on a quiet topic): use our setting instead.

    It also leaves fetch_max_bytes at aiokafka's 50 MiB: bound the read-ahead as the bulk consumers do.
    """
    consumer = _original_create_worker_consumer(self, transport)
    wait_ms = getattr(self.app, _FETCH_WAIT_ATTR, None)
    if wait_ms is not None:
        consumer._fetch_max_wait_ms = wait_ms
        consumer._fetch_max_bytes = FETCH_MAX_BYTES
    return consumer


faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]


class ConsumerRunner:
    """A faust app with one batch agent per :class:`ConsumerSpec`, and a :class:`BulkConsumer` per bulk spec.

    Stopping drains: no new batch is started, the batches being handled finish (bounded by
    ``shutdown_consumer_timeout_s``), their offsets are committed, then faust stops.

    Tracing: faust's own ``OpenTelemetrySensor`` opens a span per event and ends it only on the
    per-event ack path, which a batch agent (``noack_take`` + ``Stream.ack``) never takes, so its spans
    would never end. The :class:`BatchProcessor` opens one span per batch instead (see ``.tracing``).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        specs: Sequence[ConsumerSpec],
        dead_letters: DeadLetters,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.joined = False
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        datadir = settings.data_dir / "faust" / settings.service_name
        datadir.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            settings.consumer_group,
            broker=[f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")],
            web_enabled=False,
            autodiscover=False,
            datadir=str(datadir),
            broker_session_timeout=settings.kafka_session_timeout_s,
            broker_heartbeat_interval=settings.kafka_heartbeat_interval_s,
            broker_rebalance_timeout=settings.kafka_rebalance_timeout_s,
            broker_commit_interval=1.0,
            consumer_auto_offset_reset="earliest",
            topic_allow_declare=False,
            topic_disable_leader=True,
            producer_acks=-1,
            stream_wait_empty=False,
            store="memory://",
        )
        setattr(self.app, _FETCH_WAIT_ATTR, settings.kafka_fetch_max_wait_ms)
        self.app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        self.app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]
        self.progress = Progress(settings.consumer_stall_s)
        self.membership = Membership(settings.consumer_group)
        self.bulk: list[BulkConsumer] = []
        self._agents = 0
        self._watchdog: asyncio.Task[None] | None = None
        for spec in specs:
            if spec.bulk:
                group = f"{settings.consumer_group}.{spec.name}"
                processor = BatchProcessor(spec, dead_letters, tracer=tracer, group=group, progress=self.progress)
                self.bulk.append(BulkConsumer(settings, spec.topic, group, processor, self.progress))
            else:
                processor = BatchProcessor(
                    spec, dead_letters, tracer=tracer, group=settings.consumer_group, progress=self.progress
                )
                self._add_agent(spec, processor)
                self._agents += 1
        self.joined = self._agents == 0
        if not self._agents:
            self.membership.joined()

    async def _on_assigned(self, sender: Any, assigned: Any = None, **kwargs: Any) -> None:
        self.joined = True
        self.membership.joined()

    async def _on_revoked(self, sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        self.membership.left()
        self.progress.forget((tp.topic, tp.partition) for tp in revoked or ())

    @property
    def ready(self) -> bool:
        """Every consumer has joined its group, and none is draining."""
        return self.joined and all(b.joined for b in self.bulk) and not self.draining

    def stalled(self) -> list[Stall]:
        """Partitions with work in hand and no progress for longer than ``consumer_stall_s``."""
        return self.progress.stalled()

    @property
    def alive(self) -> bool:
        """False once a consumer has been out of its group for twice ``consumer_rejoin_timeout_s``: it was
        asked to rejoin after one timeout and still is not back, so the process should be restarted."""
        limit = 2 * self.settings.consumer_rejoin_timeout_s
        return self.draining or all(m.out_for() <= limit for m in self._memberships())

    def _memberships(self) -> list[Membership]:
        return ([self.membership] if self._agents else []) + [b.membership for b in self.bulk]

    async def _watch(self) -> None:
        """Periodically: report stalled partitions (log, metric) and ask consumers out of their group too
        long to rejoin."""
        s = self.settings
        interval = max(0.2, min(5.0, s.consumer_stall_s / 4, s.consumer_rejoin_timeout_s / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                self.progress.check(s.consumer_group)
                for membership in self._memberships():
                    if membership.rejoin_requested or membership.out_for() <= s.consumer_rejoin_timeout_s:
                        continue
                    log.warning(
                        "consumer %s out of its group for %.0fs: asking to rejoin",
                        membership.name,
                        membership.out_for(),
                        extra={"group": membership.name},
                    )
                    membership.rejoin_requested = True
                    self._request_rejoin(membership)
            except Exception:
                log.exception("consumer watchdog failed (retrying)")

    def _request_rejoin(self, membership: Membership) -> None:
        for consumer in self.bulk:
            if consumer.membership is membership:
                consumer.request_rejoin()
                return
        # faust's aiokafka consumer lives on faust's consumer thread: ask on that thread's loop.
        thread: Any = getattr(self.app.consumer, "_thread", None)
        faust_consumer = getattr(thread, "_consumer", None)
        if faust_consumer is not None and faust_consumer._coordinator is not None:
            coordinator = faust_consumer._coordinator

            def rejoin() -> None:
                coordinator.coordinator_dead()
                coordinator.request_rejoin()

            thread.thread_loop.call_soon_threadsafe(rejoin)

    def _stall_rows(self) -> list[tuple[str, int, str, int]]:
        stalled = {(s.topic, s.partition) for s in self.progress.stalled()}
        group = self.settings.consumer_group
        return [(t, p, group, int((t, p) in stalled)) for t, p in self.progress.busy()]

    def _add_agent(self, spec: ConsumerSpec, processor: BatchProcessor) -> None:
        topic = self.app.topic(spec.topic, value_serializer="raw", key_serializer="raw", allow_empty=True)
        batch_size, window = self.settings.consumer_batch_size, self.settings.consumer_batch_window_s

        async def handle(stream: Any, events: list[Any]) -> None:
            try:
                await processor.process([RawMessage.of(ev.message) for ev in events])
                for ev in events:  # only now may their offsets be committed
                    await stream.ack(ev)
            finally:
                self._end()

        async def agent(stream: Any) -> None:
            # One batch is handled while faust fills the next (it stops filling while the agent is
            # busy); batches are still handled and acknowledged one after another, in order.
            handling: asyncio.Task[None] | None = None
            try:
                async for events in stream.noack_take(batch_size, within=window):
                    if handling is not None:
                        await handling
                        handling = None
                    if self.draining:
                        continue  # not acked: redelivered to whoever owns the partition next
                    self._begin()
                    handling = asyncio.create_task(handle(stream, list(events)))
            finally:
                if handling is not None:
                    await handling

        agent.__name__ = agent.__qualname__ = spec.name.replace("-", "_")
        self.app.agent(topic, name=f"learnloop.{self.settings.service_name}.{spec.name}")(agent)

    def _begin(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def _end(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    async def start(self) -> None:
        self._watchdog = asyncio.create_task(self._watch(), name="consumer watchdog")  # also while joining
        # Each consumer joins its own group, and a join after a member died waits out that member's session:
        # the joins run side by side, so a restart waits for the slowest one, not for their sum.
        starts = [consumer.start() for consumer in self.bulk]
        if self._agents:
            starts.append(self.app.start())  # returns once partitions are assigned
        await asyncio.gather(*starts)
        for consumer in self.bulk:  # like faust: started means joined (bounded: a slow group isn't fatal)
            await consumer.wait_joined(3 * self.settings.kafka_rebalance_timeout_s)
        metrics.add_lag_source(self.lag)
        metrics.add_stall_source(self._stall_rows)

    async def stop(self) -> None:
        """Finish the batches in hand, commit their offsets and stop (within the configured timeout)."""
        metrics.remove_lag_source(self.lag)
        metrics.remove_stall_source(self._stall_rows)
        if self._watchdog is not None:
            self._watchdog.cancel()
        self.draining = True
        timeout = self.settings.shutdown_consumer_timeout_s
        deadline = asyncio.get_running_loop().time() + timeout
        await asyncio.gather(*(b.stop(timeout) for b in self.bulk))
        if self._agents:
            try:
                await asyncio.wait_for(self._idle.wait(), max(0.1, deadline - asyncio.get_running_loop().time()))
            except TimeoutError:
                log.warning("consumers still busy after %.0fs; their batches will be redelivered", timeout)
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(self.app.consumer.commit(), max(1.0, remaining))
            except Exception as exc:
                log.warning("final offset commit failed (events since the last commit are redelivered): %r", exc)
            try:
                await asyncio.wait_for(self.app.stop(), max(2.0, deadline - asyncio.get_running_loop().time()))
            except TimeoutError:
                log.warning("faust did not stop within the shutdown timeout")
        log.info("consumers stopped", extra={"group": self.settings.consumer_group})

    def lag(self) -> list[tuple[str, int, str, int]]:
        """(topic, partition, group, lag) per assigned partition: high watermark minus committed offset.

        The high watermark is the one the latest fetch response reported (no extra request). Tansu, the
        local broker, reports that one correctly; its ListOffsets (``end_offsets``) is too low after
        batched produces, which is why lag is not computed from it.
        """
        rows = [row for b in self.bulk for row in b.lag()]
        if not self.joined or not self._agents:
            return rows
        consumer: Any = self.app.consumer
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:  # nothing fetched from this partition yet
                continue
            committed = consumer._committed_offset.get(tp) or 0  # none yet: the group reads from the start
            rows.append((tp.topic, tp.partition, self.settings.consumer_group, max(0, int(highwater) - int(committed))))
        return rows
