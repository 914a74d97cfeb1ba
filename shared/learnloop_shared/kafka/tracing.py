"""W3C trace context in Kafka headers: the one place that injects and extracts it.

The :class:`~learnloop_shared.kafka.publisher.Publisher` is the only producer-side injector (the aiokafka
instrumentation is not used, so no second ``traceparent`` is ever appended); headers that already carry
trace context (the outbox stores it at write time) have it replaced, never duplicated.

Batches: one producer span per batch (every message of the batch carries that span's context) and one
consumer span per batch, parented to the first message's context and linked to every distinct context in
the batch: a fan-out of thousands of deliveries is a handful of spans with links, not thousands of spans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, Span, SpanKind, Tracer

from ..metrics import SYSTEM

Headers = list[tuple[str, bytes]]
MAX_LINKS = 128  # the SDK's default span link limit


class _HeadersGetter(Getter[Sequence[tuple[str, bytes]]]):
    def get(self, carrier: Sequence[tuple[str, bytes]], key: str) -> list[str] | None:
        for k, v in carrier:
            if k == key and v is not None:
                return [v.decode("latin-1")]
        return None

    def keys(self, carrier: Sequence[tuple[str, bytes]]) -> list[str]:
        return [k for k, _ in carrier]


_GETTER = _HeadersGetter()


def _fields() -> set[str]:
    return set(propagate.get_global_textmap().fields)


def without_trace_context(headers: Iterable[tuple[str, bytes]]) -> Headers:
    fields = _fields()
    return [(k, v) for k, v in headers if k not in fields]


def with_trace_context(headers: Iterable[tuple[str, bytes]], context: Context | None = None) -> Headers:
    """``headers`` with any trace context replaced by ``context``'s (default: the current one)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return [*without_trace_context(headers), *((k, v.encode()) for k, v in carrier.items())]


def extract(headers: Sequence[tuple[str, bytes]]) -> Context | None:
    """The producer's context from message headers, or None when there is none."""
    if not any(k == "traceparent" for k, _ in headers):
        return None
    ctx = propagate.extract(headers, getter=_GETTER)
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def producer_span(
    tracer: Tracer, topic: str, count: int, parent: Context | None = None, key: bytes | None = None
) -> Span:
    attributes: dict[str, Any] = {
        "messaging.system": SYSTEM,
        "messaging.destination.name": topic,
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
    }
    if count != 1:
        attributes["messaging.batch.message_count"] = count
    elif key is not None:
        attributes["messaging.kafka.message.key"] = key.decode("utf-8", "replace")
    return tracer.start_span(f"{topic} send", context=parent, kind=SpanKind.PRODUCER, attributes=attributes)


def consumer_span(tracer: Tracer, topic: str, group: str, headers: Iterable[Sequence[tuple[str, bytes]]]) -> Span:
    """One ``process`` span for a batch: child of the first message's context, linked to all of them."""
    parent: Context | None = None
    links: list[Link] = []
    seen: set[bytes] = set()
    count = 0
    for hdrs in headers:
        count += 1
        raw = next((v for k, v in hdrs if k == "traceparent"), None)
        if raw is None or raw in seen or len(links) >= MAX_LINKS:
            continue
        seen.add(raw)
        ctx = extract(hdrs)
        if ctx is None:
            continue
        if parent is None:
            parent = ctx
        links.append(Link(trace.get_current_span(ctx).get_span_context()))
    attributes: dict[str, Any] = {
        "messaging.system": SYSTEM,
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": group,
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.batch.message_count": count,
    }
    return tracer.start_span(
        f"{topic} process", context=parent, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    )
