"""The faust app that runs a service's consumers (faust's own web server disabled).

Faust is created per process by :func:`build_worker` (never at import time) and started and
stopped from the FastAPI lifespan. This is the one place that tunes faust for our needs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from ..settings import ServiceSettings
from .consumers import BatchProcessor, ConsumerSpec, RawMessage
from .dead_letters import DeadLetters

log = logging.getLogger(__name__)

_FETCH_WAIT_ATTR = "_learnloop_fetch_max_wait_ms"
_original_create_worker_consumer = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    """faust 0.15.3 hard-codes fetch_max_wait_ms=1500 (~0.75 s per hop): use our setting instead."""
    consumer = _original_create_worker_consumer(self, transport)
    wait_ms = getattr(self.app, _FETCH_WAIT_ATTR, None)
    if wait_ms is not None:
        consumer._fetch_max_wait_ms = wait_ms
    return consumer


faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]


class Worker:
    """A faust app with one batch agent per :class:`ConsumerSpec`."""

    def __init__(self, settings: ServiceSettings, specs: Sequence[ConsumerSpec], dead_letters: DeadLetters) -> None:
        self.settings = settings
        self.joined = False
        datadir = settings.data_dir / "faust" / settings.service_name
        datadir.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            f"learnloop-{settings.service_name}",
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
        for spec in specs:
            self._add_agent(spec, BatchProcessor(spec, dead_letters))

    async def _on_assigned(self, sender: Any, assigned: Any = None, **kwargs: Any) -> None:
        self.joined = True

    def _add_agent(self, spec: ConsumerSpec, processor: BatchProcessor) -> None:
        topic = self.app.topic(spec.topic, value_serializer="raw", key_serializer="raw", allow_empty=True)
        batch_size, window = self.settings.consumer_batch_size, self.settings.consumer_batch_window_s

        async def agent(stream: Any) -> None:
            async for events in stream.noack_take(batch_size, within=window):
                raw = [_raw(ev.message) for ev in events]
                await processor.process(raw)
                for ev in events:
                    await stream.ack(ev)

        agent.__name__ = agent.__qualname__ = spec.name.replace("-", "_")
        self.app.agent(topic, name=f"learnloop.{self.settings.service_name}.{spec.name}")(agent)

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()


def _raw(message: Any) -> RawMessage:
    headers = message.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=[(k, v) for k, v in headers if v is not None],
    )
