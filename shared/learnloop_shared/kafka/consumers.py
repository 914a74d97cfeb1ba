"""Batch consumers on faust agents: decode, dead-letter what cannot be processed, retry what failed
for a passing reason, and acknowledge (commit) only after the handler's side effects are stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aiokafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.trace import Tracer
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError

from .. import metrics
from ..events.codec import UndecodableEvent, decode
from ..events.envelope import Envelope, EventData, utcnow
from .dead_letters import DeadLetters, is_permanent
from .progress import Progress, handling
from .tracing import consumer_span

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


class RawMessage(NamedTuple):  # a tuple: built once per consumed record, far cheaper than a frozen dataclass
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, record: Any) -> RawMessage:
        """From an aiokafka ``ConsumerRecord`` or a faust ``Message`` (whose headers may be a dict)."""
        headers = record.headers or []
        if isinstance(headers, dict):
            headers = list(headers.items())
        return cls(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value,
            [(k, v) for k, v in headers if v is not None],
        )


@dataclass(frozen=True)
class Received:
    event: Envelope[Any]
    message: RawMessage


@dataclass(frozen=True)
class Rejected:
    """An event the handler refused for good (invalid, not allowed): it goes to the dead-letter topic."""

    item: Received
    reason: str


# A handler stores the side effects of a batch of events of one type durably and returns the events it
# rejected (if any).
Handler = Callable[[Sequence[Received]], Awaitable[Sequence[Rejected] | None]]
Decoder = Callable[[RawMessage], Envelope[Any]]


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer: a topic and a batch handler per event type it accepts (``{SharePublished: on_published}``).

    Any other event type on the topic is dead-lettered as unknown (or skipped, if named in ``ignore``).
    """

    name: str
    topic: str
    handlers: Mapping[type[EventData], Handler]
    decoder: Decoder | None = None
    ignore: frozenset[str] = field(default_factory=frozenset)  # known types this consumer skips
    # One event per recipient: consumed in bulk straight from aiokafka (see ``.bulk``), in its own
    # consumer group ``<group>.<name>``, instead of by a faust agent.
    bulk: bool = False

    @property
    def accept(self) -> dict[str, type[EventData]]:
        """The event types this consumer decodes, by CloudEvents ``type``."""
        return {data_type.event_type: data_type for data_type in self.handlers}


class BatchProcessor:
    """Runs one :class:`ConsumerSpec` over batches of raw messages."""

    def __init__(
        self,
        spec: ConsumerSpec,
        dead_letters: DeadLetters,
        max_backoff_s: float = 5.0,
        tracer: Tracer | None = None,
        group: str = "",
        progress: Progress | None = None,
    ) -> None:
        self.spec = spec
        self._accept = spec.accept
        self._by_type = {data_type: handler for data_type, handler in spec.handlers.items()}
        self._only = next(iter(self._by_type.values())) if len(self._by_type) == 1 else None
        self._progress = progress
        self._dlq = dead_letters
        self._max_backoff = max_backoff_s
        self._tracer = tracer
        self._attributes = metrics.topic_attributes(spec.topic, **{"messaging.consumer.group.name": group})
        self._dlq_attributes = {"messaging.destination.name": spec.topic, "learnloop.consumer": spec.name}

    def _decode(self, msg: RawMessage) -> Envelope[Any] | None:
        if self.spec.decoder is not None:
            return self.spec.decoder(msg)
        try:
            return decode(msg.value, self._accept)
        except UndecodableEvent as exc:
            if str(exc).startswith("unknown event type") and _type_of(msg.value) in self.spec.ignore:
                return None
            raise

    async def process(self, messages: Sequence[RawMessage]) -> None:
        """Handle one batch: inside one ``process`` span when tracing (see :mod:`.tracing`)."""
        started = time.perf_counter()
        with handling(self._progress, ((m.topic, m.partition) for m in messages)):
            if self._tracer is None:
                batch = await self._process(messages)
            else:
                group = str(self._attributes["messaging.consumer.group.name"])
                span = consumer_span(self._tracer, self.spec.topic, group, (m.headers for m in messages))
                with trace.use_span(span, end_on_exit=True):
                    batch = await self._process(messages)
        metrics.MESSAGES_CONSUMED.add(len(messages), self._attributes)
        metrics.PROCESS_DURATION.record(time.perf_counter() - started, self._attributes)
        if batch and metrics.enabled():  # one sample per batch: per event costs noticeable CPU on the bulk paths
            oldest = min(item.event.time for item in batch)
            metrics.EVENT_LATENCY.record(max(0.0, (utcnow() - oldest).total_seconds()), self._attributes)

    async def _process(self, messages: Sequence[RawMessage]) -> list[Received]:
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
        return batch

    async def _dispatch(self, batch: Sequence[Received]) -> list[Rejected]:
        """Each event type's events to its handler, types in order of first appearance."""
        if self._only is not None:  # one event type: the whole batch, as it is
            return list(await self._only(batch) or ())
        groups: dict[type[EventData], list[Received]] = {}
        for item in batch:
            groups.setdefault(type(item.event.data), []).append(item)
        rejected: list[Rejected] = []
        for data_type, items in groups.items():
            rejected.extend(await self._by_type[data_type](items) or ())
        return rejected

    async def _handle(self, batch: Sequence[Received]) -> None:
        attempt = 0
        while True:
            try:
                rejected = await self._dispatch(batch)
                for r in rejected:
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
        """Write ``msg`` to the dead-letter topic; never returns without having written it or given up.

        A passing broker failure is retried with backoff (the partition waits, as for any passing
        failure). A dead letter that can never be written (refused by the broker, or a bug) is logged as
        an error with the message's coordinates and counted, and the consumer moves on: one message must
        not stop its partition for good.
        """
        attempt = 0
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
                metrics.DEAD_LETTERS.add(1, self._dlq_attributes)
                return
            except Exception as exc:
                if is_permanent(exc):
                    log.error(
                        "consumer %s: could not dead-letter %s/%d@%d, skipping it: %r (reason it was rejected: %s)",
                        self.spec.name,
                        msg.topic,
                        msg.partition,
                        msg.offset,
                        exc,
                        reason,
                        extra={
                            "consumer": self.spec.name,
                            "topic": msg.topic,
                            "partition": msg.partition,
                            "offset": msg.offset,
                        },
                    )
                    metrics.DEAD_LETTER_FAILURES.add(1, self._dlq_attributes)
                    return
                attempt += 1
                delay = min(self._max_backoff, 0.1 * 2**attempt)
                log.warning("dead-letter topic unavailable, retrying in %.1fs: %r", delay, exc)
                await asyncio.sleep(delay)


def _type_of(value: bytes | None) -> str | None:
    import json

    try:
        doc = json.loads(value or b"")
        return str(doc.get("type")) if isinstance(doc, dict) else None
    except ValueError:
        return None
