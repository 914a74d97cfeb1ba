"""Batch consumers on faust agents: decode, dead-letter what cannot be processed, retry what failed
for a passing reason, and acknowledge (commit) only after the handler's side effects are stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaError
from opentelemetry import context as otel_context
from opentelemetry import propagate
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError

from ..events.codec import UndecodableEvent, decode
from ..events.envelope import Envelope, EventData
from .dead_letters import DeadLetters

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    AutoReconnect,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    KafkaError,
    asyncio.TimeoutError,
    OSError,
)


class PermanentEventError(Exception):
    """Raised by a handler for an event that can never be processed; it is dead-lettered."""


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class Received:
    event: Envelope[Any]
    message: RawMessage


@dataclass(frozen=True)
class Rejected:
    """An event the handler refused for good (invalid, not allowed): it goes to the dead-letter topic."""

    item: Received
    reason: str


# A handler stores the batch's side effects durably and returns the events it rejected (if any).
Handler = Callable[[Sequence[Received]], Awaitable[Sequence[Rejected] | None]]
Decoder = Callable[[RawMessage], Envelope[Any]]


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer: a topic, the event types it accepts, and a batch handler."""

    name: str
    topic: str
    accept: Mapping[str, type[EventData]]
    handler: Handler
    decoder: Decoder | None = None
    ignore: frozenset[str] = field(default_factory=frozenset)  # known types this consumer skips


class BatchProcessor:
    """Runs one :class:`ConsumerSpec` over batches of raw messages."""

    def __init__(self, spec: ConsumerSpec, dead_letters: DeadLetters, max_backoff_s: float = 5.0) -> None:
        self.spec = spec
        self._dlq = dead_letters
        self._max_backoff = max_backoff_s

    def _decode(self, msg: RawMessage) -> Envelope[Any] | None:
        if self.spec.decoder is not None:
            return self.spec.decoder(msg)
        try:
            return decode(msg.value, self.spec.accept)
        except UndecodableEvent as exc:
            if str(exc).startswith("unknown event type") and _type_of(msg.value) in self.spec.ignore:
                return None
            raise

    async def process(self, messages: Sequence[RawMessage]) -> None:
        batch: list[Received] = []
        for msg in messages:
            try:
                event = self._decode(msg)
            except UndecodableEvent as exc:
                await self._dead_letter(msg, str(exc))
                continue
            if event is not None:
                batch.append(Received(event, msg))
        if batch:
            await self._handle(batch)

    async def _handle(self, batch: Sequence[Received]) -> None:
        attempt = 0
        while True:
            try:
                with _extracted_context(batch[0].message.headers):
                    rejected = await self.spec.handler(batch)
                for r in rejected or ():
                    await self._dead_letter(r.item.message, r.reason)
                return
            except TRANSIENT_ERRORS as exc:
                attempt += 1
                delay = min(self._max_backoff, 0.1 * 2**attempt)
                log.warning(
                    "consumer %s: passing failure, retrying in %.1fs: %r",
                    self.spec.name,
                    delay,
                    exc,
                    extra={"consumer": self.spec.name, "attempt": attempt},
                )
                await asyncio.sleep(delay)
            except PermanentEventError as exc:
                if len(batch) == 1:
                    await self._dead_letter(batch[0].message, str(exc))
                    return
                await self._one_by_one(batch)
                return
            except Exception:
                log.exception("consumer %s: handler failed; isolating the failing events", self.spec.name)
                if len(batch) == 1:
                    await self._dead_letter(batch[0].message, "handler error (see service logs)")
                    return
                await self._one_by_one(batch)
                return

    async def _one_by_one(self, batch: Sequence[Received]) -> None:
        for item in batch:
            await self._handle([item])

    async def _dead_letter(self, msg: RawMessage, reason: str) -> None:
        while True:
            try:
                await self._dlq.send(
                    consumer=self.spec.name,
                    topic=msg.topic,
                    partition=msg.partition,
                    offset=msg.offset,
                    key=msg.key,
                    value=msg.value,
                    headers=msg.headers,
                    reason=reason,
                )
                return
            except KafkaError as exc:
                log.warning("dead-letter topic unavailable, retrying: %r", exc)
                await asyncio.sleep(1)


def _type_of(value: bytes | None) -> str | None:
    import json

    try:
        doc = json.loads(value or b"")
        return str(doc.get("type")) if isinstance(doc, dict) else None
    except ValueError:
        return None


class _extracted_context:
    """Continue the producer's trace while handling a batch (first message's context)."""

    def __init__(self, headers: list[tuple[str, bytes]]) -> None:
        carrier = {k: v.decode("latin-1") for k, v in headers if k in ("traceparent", "tracestate") and v}
        self._ctx = propagate.extract(carrier) if carrier else None
        self._token: object | None = None

    def __enter__(self) -> None:
        if self._ctx is not None:
            self._token = otel_context.attach(self._ctx)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
