"""Client spans for MongoDB commands, from PyMongo's command monitoring.

The same idea as ``opentelemetry-instrumentation-pymongo`` (which cannot be installed beside
``opentelemetry-sdk`` 1.45.2: its latest release pins ``opentelemetry-semantic-conventions`` 0.66b1),
with two differences: it is passed to each client (``event_listeners``) instead of being registered
globally, and it records a span only inside an existing trace, so health checks, the outbox relay's
polling and start-up index creation do not produce a stream of one-span traces.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from pymongo import monitoring

_Key = tuple[int, Any]


class MongoCommandTracer(monitoring.CommandListener):
    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._spans: dict[_Key, Span] = {}

    @staticmethod
    def _key(event: Any) -> _Key:
        return event.request_id, event.connection_id

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not trace.get_current_span().get_span_context().is_valid:
            return
        name = event.command_name
        collection = event.command.get(name)
        attributes: dict[str, Any] = {
            "db.system.name": "mongodb",
            "db.namespace": event.database_name,
            "db.operation.name": name,
        }
        if isinstance(collection, str):
            attributes["db.collection.name"] = collection
        if event.connection_id:
            host, port = event.connection_id
            attributes["server.address"] = str(host)
            if port is not None:
                attributes["server.port"] = int(port)
        span_name = f"{name} {collection}" if isinstance(collection, str) else name
        self._spans[self._key(event)] = self._tracer.start_span(span_name, kind=SpanKind.CLIENT, attributes=attributes)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        span = self._spans.pop(self._key(event), None)
        if span is not None:
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        span = self._spans.pop(self._key(event), None)
        if span is not None:
            failure = event.failure or {}
            span.set_status(Status(StatusCode.ERROR, str(failure.get("errmsg", "command failed"))))
            span.set_attribute("error.type", str(failure.get("codeName", "MongoError")))
            span.end()
