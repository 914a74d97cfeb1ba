"""Telemetry: off by default at no cost, configured by OTEL_*, and exactly one traceparent per message."""

from __future__ import annotations

import asyncio

import pytest
from learnloop_share.app import SERVICE
from learnloop_share.config import ShareSettings
from learnloop_shared.events import EventDeadLettered, make_event
from learnloop_shared.kafka import tracing
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.outbox import Outbox
from learnloop_shared.runtime import create_app
from learnloop_shared.settings import load_settings
from learnloop_shared.telemetry import TelemetrySettings, setup_telemetry
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


@pytest.fixture
def no_otel_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("OTEL_"):
            monkeypatch.delenv(key)


def test_telemetry_is_off_by_default_and_installs_nothing(no_otel_env):
    tel = setup_telemetry("share", "api", TelemetrySettings())
    assert not tel.tracing and tel.tracer("x") is None
    assert tel.meter_provider is None and tel.registry is None and tel.mongo_listeners() == []
    app = create_app(SERVICE, ShareSettings(auth_secret=SECRET), tel)
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    assert not [m for m in app.user_middleware if "OpenTelemetry" in repr(m.cls)]
    assert "/metrics" not in {getattr(r, "path", None) for r in app.routes}
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"  # nothing global was set


def test_sdk_disabled_wins_over_exporters():
    tel = setup_telemetry("share", "api", TelemetrySettings(sdk_disabled=True, traces_exporter="otlp"))
    assert not tel.tracing and tel.meter_provider is None


def test_otel_settings_are_validated_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheos")
    with pytest.raises(SystemExit):
        load_settings(TelemetrySettings)
    assert "OTEL_METRICS_EXPORTER" in capsys.readouterr().err
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus, otlp")
    assert load_settings(TelemetrySettings).wanted("metrics") == ["prometheus", "otlp"]


class FakeProducer:
    """Records what would be sent; every send is acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]] = []

    async def send(self, topic, value, key=None, headers=None):
        self.sent.append((topic, value, key, list(headers or [])))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    async def send_and_wait(self, topic, value, key=None, headers=None):
        await self.send(topic, value, key, headers)

    async def partitions_for(self, topic):
        return {0, 1, 2, 3}

    def create_batch(self):
        return FakeBatch()

    async def send_batch(self, batch, topic, *, partition):
        for key, value, headers in batch.records:
            await self.send(topic, value, key, headers)
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


class FakeBatch:
    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []

    def append(self, *, key, value, timestamp, headers):
        self.records.append((key, value, list(headers or [])))
        return object()  # metadata: never full


def traced_publisher() -> tuple[Publisher, FakeProducer, InMemorySpanExporter, trace.Tracer]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    publisher = Publisher(ShareSettings(auth_secret=SECRET), tracer)
    producer = FakeProducer()
    publisher._producer = producer  # type: ignore[assignment]
    return publisher, producer, exporter, tracer


def traceparents(headers: list[tuple[str, bytes]]) -> list[str]:
    return [v.decode() for k, v in headers if k == "traceparent"]


def span_id_of(traceparent: str) -> int:
    return int(traceparent.split("-")[2], 16)


async def test_a_batch_is_one_producer_span_and_copied_trace_headers_are_replaced_not_duplicated():
    publisher, producer, exporter, tracer = traced_publisher()
    with tracer.start_as_current_span("fan-out") as outer:
        copied = [("content-type", b"application/cloudevents+json"), *tracing.with_trace_context([])]
        acked = await publisher.enqueue("deliveries", [(f"r{i}", b"{}") for i in range(500)], headers=copied)
        await acked
    [batch] = [s for s in exporter.get_finished_spans() if s.name == "deliveries send"]
    assert batch.kind == SpanKind.PRODUCER and batch.attributes["messaging.batch.message_count"] == 500
    assert batch.parent is not None and batch.parent.span_id == outer.get_span_context().span_id
    assert len(producer.sent) == 500
    for _, _, _, headers in producer.sent:
        [tp] = traceparents(headers)
        assert span_id_of(tp) == batch.context.span_id


def an_event():
    data = EventDeadLettered(
        reason="r", consumer="c", topic="t", partition=0, offset=0, key_b64=None, value_b64="", headers={}
    )
    return make_event(data, source="/test", subject="t/0/0")


async def test_the_outbox_keeps_the_trace_context_of_the_write_and_sends_it_once():
    publisher, producer, exporter, tracer = traced_publisher()
    with tracer.start_as_current_span("POST /v1/shares") as request:
        entry = Outbox.entry("shares", "s1", an_event())  # stored in the transaction, with the request's context
    assert len(traceparents(entry["headers"])) == 1
    # Later, from the relay: no span is current; the stored context is continued.
    await publisher.send_raw(entry["topic"], entry["key"], entry["value"], [(k, v) for k, v in entry["headers"]])
    [sent] = [s for s in exporter.get_finished_spans() if s.name == "shares send"]
    assert sent.parent is not None and sent.parent.span_id == request.get_span_context().span_id
    assert sent.attributes["messaging.kafka.message.key"] == "s1"
    [tp] = traceparents(producer.sent[0][3])
    assert span_id_of(tp) == sent.context.span_id


async def test_publish_and_publish_many_inject_once():
    publisher, producer, exporter, tracer = traced_publisher()
    with tracer.start_as_current_span("handler"):
        await publisher.publish("dlq", "k", an_event())
        assert await publisher.publish_many("dlq", [("a", an_event()), ("b", an_event())]) == 2
    spans = [s for s in exporter.get_finished_spans() if s.name == "dlq send"]
    assert len(spans) == 2  # one for publish, one for the batch of two
    for _, _, _, headers in producer.sent:
        [tp] = traceparents(headers)
        assert span_id_of(tp) in {s.context.span_id for s in spans}


def test_a_consumer_batch_span_is_a_child_of_the_first_message_and_links_each_context():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("a") as a:
        from_a = tracing.with_trace_context([])
    with tracer.start_as_current_span("b") as b:
        from_b = tracing.with_trace_context([])
    span = tracing.consumer_span(tracer, "deliveries", "g", [from_a] * 300 + [from_b] * 200 + [[]])
    span.end()
    assert span.parent is not None and span.parent.span_id == a.get_span_context().span_id
    assert [link.context.span_id for link in span.links] == [a.get_span_context().span_id, b.get_span_context().span_id]
    assert span.attributes["messaging.batch.message_count"] == 501


async def test_without_a_tracer_nothing_is_added():
    publisher = Publisher(ShareSettings(auth_secret=SECRET))
    producer = FakeProducer()
    publisher._producer = producer  # type: ignore[assignment]
    await (await publisher.enqueue("deliveries", [("r", b"{}")]))
    assert traceparents(producer.sent[0][3]) == []
