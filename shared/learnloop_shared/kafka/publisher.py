"""Produce CloudEvents (structured JSON) with W3C trace context in the headers.

Every way of producing goes through here and is traced the same way (see :mod:`.tracing`): one
``<topic> send`` producer span per call (per batch for :meth:`Publisher.publish_many` and
:meth:`Publisher.enqueue`), whose context is what the messages carry. :meth:`Publisher.send_raw` continues
the trace context already in the headers it is given (the outbox stores it when the change is written)
and replaces it with its own span's, so a message never carries two ``traceparent`` headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from .. import metrics
from ..events.codec import content_type_header, encode
from ..events.envelope import Envelope
from ..settings import ServiceSettings
from .connection import client_options
from .partitioning import partition_for
from .tracing import Headers, extract, producer_span, with_trace_context, without_trace_context


def trace_headers() -> Headers:
    """The current trace context as headers (empty when no span is active, e.g. telemetry off)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode()) for k, v in carrier.items()]


def event_headers() -> Headers:
    return [content_type_header(), *trace_headers()]


def _end(span: Span | None, exc: BaseException | None = None) -> None:
    if span is None:
        return
    if exc is not None:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    span.end()


class Publisher:
    """A thin layer over one AIOKafkaProducer created in the app's lifespan."""

    def __init__(self, settings: ServiceSettings, tracer: Tracer | None = None) -> None:
        self._producer = AIOKafkaProducer(
            **client_options(settings),
            client_id=f"{settings.service_name}-producer",
            acks="all",
            enable_idempotence=settings.kafka_idempotence,
            linger_ms=5,
            max_batch_size=256 * 1024,
            compression_type=None,
            max_request_size=settings.kafka_max_request_bytes,
        )
        self.max_request_bytes = settings.kafka_max_request_bytes
        self._tracer = tracer
        self.started = False

    async def start(self) -> None:
        await self._producer.start()
        self.started = True

    async def stop(self) -> None:
        self.started = False
        await self._producer.stop()

    def _span(
        self, topic: str, count: int, headers: Sequence[tuple[str, bytes]] | None, key: bytes | None = None
    ) -> tuple[Span | None, Headers]:
        """Start the producer span (if tracing) and return the headers to send with it."""
        base = list(headers) if headers is not None else [content_type_header()]
        if self._tracer is None:
            return None, base if headers is not None else event_headers()
        parent = extract(base) if headers is not None else None
        span = producer_span(self._tracer, topic, count, parent, key)
        return span, with_trace_context(base, trace.set_span_in_context(span))

    async def publish(self, topic: str, key: str | None, event: Envelope[Any]) -> None:
        await self.send_raw(topic, key, encode(event), None)

    async def publish_many(self, topic: str, items: Iterable[tuple[str | None, Envelope[Any]]]) -> int:
        """Send a batch and wait until the broker has acknowledged all of it."""
        encoded = [(k, encode(ev)) for k, ev in items]
        await (await self.enqueue(topic, encoded))
        return len(encoded)

    async def enqueue(
        self, topic: str, items: Iterable[tuple[str | None, bytes]], headers: Headers | None = None
    ) -> asyncio.Future[Any]:
        """Hand pre-encoded events to the producer; the returned future resolves once all are acknowledged.

        Lets a caller keep several batches in flight (the producer applies back-pressure when its
        buffer is full). The batch is one producer span, ended when the broker has acknowledged it.
        """
        batch = list(items)
        span, hdrs = self._span(topic, len(batch), without_trace_context(headers) if headers is not None else None)
        try:
            futures = await self._send_partitioned(topic, batch, hdrs)
        except BaseException as exc:
            _end(span, exc)
            raise
        acked = asyncio.gather(*futures)
        attributes = metrics.topic_attributes(topic)

        def done(fut: asyncio.Future[Any]) -> None:
            exc = None if fut.cancelled() else fut.exception()
            if not fut.cancelled() and exc is None:
                metrics.MESSAGES_SENT.add(len(batch), attributes)
            _end(span, exc)

        acked.add_done_callback(done)
        return acked

    async def _send_partitioned(
        self, topic: str, items: list[tuple[str | None, bytes]], headers: Headers
    ) -> list[asyncio.Future[Any]]:
        """Build one record batch per partition ourselves and submit it whole.

        Much cheaper per message than ``send()`` (no per-message future or accumulator round), with the
        same partition for each key as ``send()`` would choose (Kafka's default partitioner).
        """
        partitions = sorted(await self._producer.partitions_for(topic))
        builders: dict[int, Any] = {}
        futures: list[asyncio.Future[Any]] = []
        for k, v in items:
            key = k.encode() if k else None
            partition = partition_for(key, partitions)
            builder = builders.get(partition)
            if builder is None:
                builder = builders[partition] = self._producer.create_batch()
            if builder.append(key=key, value=v, timestamp=None, headers=headers) is None:  # full
                futures.append(await self._producer.send_batch(builder, topic, partition=partition))
                builder = builders[partition] = self._producer.create_batch()
                builder.append(key=key, value=v, timestamp=None, headers=headers)
        for partition, builder in builders.items():
            futures.append(await self._producer.send_batch(builder, topic, partition=partition))
        return futures

    async def send_raw(
        self, topic: str, key: str | bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]] | None
    ) -> None:
        """Send one message and wait for the broker; trace context in ``headers`` is continued, not copied."""
        await (await self.enqueue_raw(topic, key, value, headers))

    async def enqueue_raw(
        self, topic: str, key: str | bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]] | None
    ) -> asyncio.Future[Any]:
        """Hand one message to the producer; the returned future resolves once the broker has it.

        Messages enqueued one after another keep that order within their partition, and travel in the
        producer's batches (its linger) rather than one request each. Traced like :meth:`send_raw`.
        """
        k = key.encode() if isinstance(key, str) else key
        span, hdrs = self._span(topic, 1, headers, k)
        try:
            sent: asyncio.Future[Any] = await self._producer.send(topic, value, key=k, headers=hdrs)
        except BaseException as exc:
            _end(span, exc)
            raise
        attributes = metrics.topic_attributes(topic)
        acked: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(fut: asyncio.Future[Any]) -> None:
            # Resolves ``acked`` only once the span is ended: whoever awaits it sees the span finished.
            exc = None if fut.cancelled() else fut.exception()
            if not fut.cancelled() and exc is None:
                metrics.MESSAGES_SENT.add(1, attributes)
            _end(span, exc)
            if acked.done():
                return
            if fut.cancelled():
                acked.cancel()
            elif exc is not None:
                acked.set_exception(exc)
            else:
                acked.set_result(fut.result())

        sent.add_done_callback(done)
        return acked

    async def ready(self) -> bool:
        if not self.started:
            return False
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout=2)
            return True
        except Exception:
            return False
