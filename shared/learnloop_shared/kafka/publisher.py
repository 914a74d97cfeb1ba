"""Produce CloudEvents (structured JSON) with W3C trace context in the headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import propagate

from ..events.codec import content_type_header, encode
from ..events.envelope import Envelope
from ..settings import ServiceSettings
from .connection import client_options

Headers = list[tuple[str, bytes]]


def trace_headers() -> Headers:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode()) for k, v in carrier.items()]


def event_headers() -> Headers:
    return [content_type_header(), *trace_headers()]


class Publisher:
    """A thin layer over one AIOKafkaProducer created in the app's lifespan."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._producer = AIOKafkaProducer(
            **client_options(settings),
            client_id=f"{settings.service_name}-producer",
            acks="all",
            enable_idempotence=settings.kafka_idempotence,
            linger_ms=5,
            max_batch_size=256 * 1024,
            compression_type=None,
        )
        self.started = False

    async def start(self) -> None:
        await self._producer.start()
        self.started = True

    async def stop(self) -> None:
        self.started = False
        await self._producer.stop()

    async def publish(self, topic: str, key: str | None, event: Envelope[Any]) -> None:
        await self.send_raw(topic, key, encode(event), event_headers())

    async def publish_many(self, topic: str, items: Iterable[tuple[str | None, Envelope[Any]]]) -> int:
        """Send a batch and wait until the broker has acknowledged all of it."""
        headers = event_headers()
        futures = [
            await self._producer.send(topic, encode(ev), key=k.encode() if k else None, headers=headers)
            for k, ev in items
        ]
        await asyncio.gather(*futures)
        return len(futures)

    async def enqueue(
        self, topic: str, items: Iterable[tuple[str | None, bytes]], headers: Headers | None = None
    ) -> asyncio.Future[Any]:
        """Hand pre-encoded events to the producer; the returned future resolves once all are acknowledged.

        Lets a caller keep several batches in flight (the producer applies back-pressure when its
        buffer is full).
        """
        hdrs = headers if headers is not None else event_headers()
        futures = [await self._producer.send(topic, v, key=k.encode() if k else None, headers=hdrs) for k, v in items]
        return asyncio.gather(*futures)

    async def send_raw(
        self, topic: str, key: str | bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        k = key.encode() if isinstance(key, str) else key
        await self._producer.send_and_wait(topic, value, key=k, headers=list(headers))

    async def ready(self) -> bool:
        if not self.started:
            return False
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout=2)
            return True
        except Exception:
            return False
