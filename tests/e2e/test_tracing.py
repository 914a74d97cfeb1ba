"""One share through the real broker is one connected trace across the three services.

The three services run in this test process (each ``create_app`` with its own tracer provider and
``service.name``, all exporting to one in-memory exporter; their faust workers are started by their
lifespans), on topics, consumer groups and databases of their own, against the session's broker and
database servers. HTTP goes through ``httpx.ASGITransport``; everything else is real.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from learnloop_learn.app import SERVICE as LEARN
from learnloop_learn.config import LearnSettings
from learnloop_notify.app import SERVICE as NOTIFY
from learnloop_notify.config import NotifySettings
from learnloop_share.app import SERVICE as SHARE
from learnloop_share.config import ShareSettings
from learnloop_shared.auth import issue_token
from learnloop_shared.runtime import create_app
from learnloop_shared.settings import Topics
from learnloop_shared.telemetry import TelemetrySettings, setup_telemetry
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ..helpers import eventually, local_settings, read_all

SECRET = "test-secret-that-is-long-enough-for-hs256"
DEFS = {"share": (SHARE, ShareSettings), "learn": (LEARN, LearnSettings), "notify": (NOTIFY, NotifySettings)}


@contextlib.asynccontextmanager
async def services(infra: Any, tmp_path: Any, exporter: InMemorySpanExporter) -> AsyncIterator[dict[str, Any]]:
    u = uuid.uuid4().hex[:8]
    topics = Topics(
        shares=f"tr{u}.shares",
        deliveries=f"tr{u}.deliveries",
        acknowledgements=f"tr{u}.acks",
        share_requests=f"tr{u}.requests",
        dead_letters=f"tr{u}.dlq",
    )
    clients: dict[str, Any] = {"topics": topics}
    async with contextlib.AsyncExitStack() as stack:
        apps = []
        for name, (defn, cls) in DEFS.items():
            settings = local_settings(
                cls,
                infra,
                mongo_url=infra.mongo_url_for(name),
                mongo_db=f"trace_{name}_{u}",
                topics=topics,
                kafka_group_prefix=f"trace-{u}",
                data_dir=tmp_path,
                auth_secret=SECRET,
            )
            only_memory = TelemetrySettings(sdk_disabled=False, traces_exporter="none", metrics_exporter="none")
            tel = setup_telemetry(name, "all", only_memory, span_exporter=exporter, set_global=False)
            apps.append((name, create_app(defn, settings, tel)))
        for name, app in apps:  # one after another: the first one creates the topics
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}", timeout=10)
            clients[name] = await stack.enter_async_context(client)
        yield clients


def auth(user: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, user, scopes)}"}


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


@pytest.mark.timeout(90)
async def test_one_share_is_one_connected_trace_across_the_three_services(infra, tmp_path, monkeypatch):
    for variable in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(variable, raising=False)  # each service names itself
    exporter = InMemorySpanExporter()
    async with services(infra, tmp_path, exporter) as c:
        topics: Topics = c["topics"]
        admin = auth("admin", "directory:write")
        for user in ("alice", "bob", "carol"):
            assert (await c["share"].put(f"/v1/users/{user}", json={"name": user}, headers=admin)).status_code == 200
        exporter.clear()
        r = await c["share"].post(
            "/v1/shares", json={"title": "Traced", "audience": {"users": ["bob", "carol"]}}, headers=auth("alice")
        )
        assert r.status_code == 202, r.text
        sid = r.json()["id"]

        async def notified() -> bool:
            for user in ("bob", "carol"):
                items = (await c["notify"].get("/v1/notifications", headers=auth(user))).json()["items"]
                assert [n for n in items if n["share_id"] == sid], user
            items = (await c["learn"].get("/v1/me/learning", headers=auth("bob"))).json()["items"]
            return any(i["share_id"] == sid for i in items)

        await eventually(notified, timeout=30)

        [root] = [
            s
            for s in exporter.get_finished_spans()
            if s.kind == SpanKind.SERVER and s.name == "POST /v1/shares" and s.parent is None
        ]
        trace_id = root.context.trace_id

        def in_trace() -> list[ReadableSpan]:
            return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]

        def named(spans: list[ReadableSpan], service: str, name: str) -> list[ReadableSpan]:
            return [s for s in spans if service_of(s) == f"learnloop-{service}" and s.name == name]

        async def complete() -> list[ReadableSpan]:
            spans = in_trace()
            assert named(spans, "notify", f"{topics.deliveries} process"), "notify has not processed yet"
            assert named(spans, "learn", f"{topics.deliveries} process"), "learn has not processed yet"
            assert named(spans, "learn", f"{topics.shares} process"), "learn has not read share.published yet"
            assert [s for s in spans if service_of(s) == "learnloop-notify" and s.name.startswith("insert")]
            return spans

        spans = await eventually(complete, timeout=10)
        deliveries = await read_all(infra, topics.deliveries, expect=2)

    by_id = {s.context.span_id: s for s in spans}
    # Connected: every span of the trace but the HTTP request hangs off another span of the same trace.
    orphans = [s.name for s in spans if s is not root and (s.parent is None or s.parent.span_id not in by_id)]
    assert not orphans, orphans
    assert {service_of(s) for s in spans} == {"learnloop-share", "learnloop-learn", "learnloop-notify"}

    def parent(s: ReadableSpan) -> ReadableSpan:
        assert s.parent is not None
        return by_id[s.parent.span_id]

    # POST /v1/shares → share.published sent (through the outbox) → processed by share's fan-out and by learn.
    [published] = named(spans, "share", f"{topics.shares} send")
    assert published.kind == SpanKind.PRODUCER and parent(published) is root
    fanout = named(spans, "share", f"{topics.shares} process")
    learn_shares = named(spans, "learn", f"{topics.shares} process")
    assert len(fanout) == 1 and len(learn_shares) == 1
    assert parent(fanout[0]) is published and parent(learn_shares[0]) is published
    assert fanout[0].kind == SpanKind.CONSUMER

    # Fan-out: one producer span for the batch of deliveries, not one per recipient.
    [batch] = named(spans, "share", f"{topics.deliveries} send")
    assert parent(batch) is fanout[0] and batch.attributes["messaging.batch.message_count"] == 2
    # Each delivery carries exactly one traceparent: the batch span's.
    assert len(deliveries) == 2
    for record in deliveries:
        traceparents = [v for k, v in record.headers if k == "traceparent"]
        assert len(traceparents) == 1, record.headers
        assert traceparents[0].decode().split("-")[2] == format(batch.context.span_id, "016x")

    # Consumers: one process span per batch, a child of the first message's context, linked to the batch.
    for service in ("notify", "learn"):
        processed = named(spans, service, f"{topics.deliveries} process")
        assert processed and all(parent(s) is batch for s in processed)
        assert all(link.context.span_id == batch.context.span_id for s in processed for link in s.links)
        assert sum(s.attributes["messaging.batch.message_count"] for s in processed) == 2
    # ...and the MongoDB writes they made are inside the trace too.
    notify_writes = [s for s in spans if service_of(s) == "learnloop-notify" and s.name == "insert notifications"]
    learn_writes = [s for s in spans if service_of(s) == "learnloop-learn" and s.name == "insert audience"]
    assert notify_writes and learn_writes
    assert all(parent(s).name == f"{topics.deliveries} process" for s in notify_writes + learn_writes)
    assert all(s.kind == SpanKind.CLIENT for s in notify_writes + learn_writes)
    assert named(spans, "share", "insert shares") and parent(named(spans, "share", "insert shares")[0]) is root
