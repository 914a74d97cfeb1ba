"""Graceful shutdown under load: SIGTERM a notify worker mid-stream; nothing is lost or duplicated.

Separate processes per role (share API, share worker, notify worker) on topics, consumer groups and
databases of their own, so the session's shared stack is not disturbed. The notify worker gets SIGTERM
while it is storing thousands of notifications: it must finish the batches in hand, commit exactly what
it stored, and exit within the grace period; its replacement then stores the rest, each exactly once.
Its ``/metrics`` (Prometheus) are checked on the way.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
import uuid

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from learnloop_shared.auth import ensure_local_secret, issue_token
from learnloop_shared.local.servers import LocalInfra, ManagedProcess, free_port
from learnloop_shared.local.stack import LocalStack
from pymongo import AsyncMongoClient

from ..helpers import eventually, metric

RECIPIENTS = 2500
SHARES = 2
GRACE_S = 20  # what the test allows; Kubernetes' terminationGracePeriodSeconds is 30
CLEAN_EXIT = {0, 143, -signal.SIGTERM}  # uvicorn re-raises SIGTERM after a graceful shutdown


def start(stack: LocalStack, service: str, role: str, port: int, **env: str) -> ManagedProcess:
    proc = stack.service_process(service, role)
    assert proc.env is not None
    proc.env.update({"LEARNLOOP_HTTP_PORT": str(port), **env})
    proc.log_path = stack.var_dir / "log" / f"{service}-{role}-{port}.log"
    proc.start()
    return proc


async def ready(port: int, proc: ManagedProcess, timeout: float = 40) -> None:
    async def check() -> bool:
        assert proc.running, f"{proc.name} exited; see {proc.log_path}"
        try:
            async with httpx.AsyncClient(timeout=2) as c:
                return (await c.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(check, timeout=timeout, interval=0.2)


async def committed(infra: LocalInfra, group: str, topic: str, partitions: int) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(
            group, partitions=[TopicPartition(topic, p) for p in range(partitions)]
        )
    finally:
        await admin.close()
    return sum(max(0, meta.offset) for meta in offsets.values())


@pytest.mark.timeout(120)
async def test_sigterm_under_load_finishes_in_flight_commits_and_loses_nothing(infra, tmp_path):
    u = uuid.uuid4().hex[:8]
    ensure_local_secret(tmp_path / "auth-secret")
    topics = {"SHARES": f"lc{u}.shares", "DELIVERIES": f"lc{u}.deliveries", "ACKNOWLEDGEMENTS": f"lc{u}.acks"}
    topics |= {"SHARE_REQUESTS": f"lc{u}.requests", "DEAD_LETTERS": f"lc{u}.dlq"}
    stack = LocalStack(
        infra=infra,
        ports={"share": free_port(), "learn": free_port(), "notify": free_port()},  # learn is not started
        var_dir=tmp_path,
        secret_file=tmp_path / "auth-secret",
        db_prefix=f"lc{u}",
        extra_env={
            **{f"LEARNLOOP_TOPICS__{k}": v for k, v in topics.items()},
            "LEARNLOOP_KAFKA_GROUP_PREFIX": f"lc{u}",
            "LEARNLOOP_KAFKA_CREATE_TOPICS": "true",
            "LEARNLOOP_CONSUMER_BATCH_SIZE": "100",  # many small batches: SIGTERM lands mid-stream
            "OTEL_METRICS_EXPORTER": "prometheus",
        },
    )
    ports = {"share-api": stack.ports["share"], "share-worker": free_port(), "notify-worker": stack.ports["notify"]}
    procs = {
        "share-api": start(stack, "share", "api", ports["share-api"]),
        "share-worker": start(stack, "share", "worker", ports["share-worker"]),
        "notify-worker": start(stack, "notify", "worker", ports["notify-worker"]),
    }
    notify_db = AsyncMongoClient(infra.mongo_url_for("notify"))[f"lc{u}_notify"]
    try:
        await asyncio.gather(*(ready(ports[name], proc) for name, proc in procs.items()))
        secret = stack.secret_file.read_text().strip()
        async with httpx.AsyncClient(base_url=stack.url("share"), timeout=15) as share:
            admin = {"Authorization": f"Bearer {issue_token(secret, 'admin', ['directory:write'])}"}
            members = [f"u{i:05d}" for i in range(RECIPIENTS)]
            r = await share.put(f"/v1/teams/t{u}", json={"name": "Load", "members": members}, headers=admin)
            assert r.status_code == 200, r.text
            author = {"Authorization": f"Bearer {issue_token(secret, 'author')}"}
            share_ids = []
            for i in range(SHARES):
                r = await share.post(
                    "/v1/shares", json={"title": f"Load {i}", "audience": {"teams": [f"t{u}"]}}, headers=author
                )
                assert r.status_code == 202, r.text
                share_ids.append(r.json()["id"])
        total = RECIPIENTS * SHARES
        notifications = notify_db["notifications"]

        # SIGTERM the notify worker as soon as it is storing notifications.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and await notifications.count_documents({}) < 200:
            await asyncio.sleep(0.02)
        worker = procs["notify-worker"]
        assert worker.proc is not None
        signalled = time.monotonic()
        worker.signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.proc.wait, GRACE_S + 5)
        took = time.monotonic() - signalled
        assert code in CLEAN_EXIT, f"notify worker exited with {code}; see {worker.log_path}"
        assert took < GRACE_S, f"notify worker took {took:.1f}s to stop"
        stored = await notifications.count_documents({})
        assert 0 < stored < total, f"SIGTERM did not land mid-stream ({stored} of {total} stored)"
        # Finished what it had, and committed exactly that: nothing stored twice, nothing skipped.
        offsets = await committed(infra, f"lc{u}-notify.deliveries", topics["DELIVERIES"], 8)
        assert offsets == stored, f"committed {offsets} offsets but stored {stored} notifications"

        # A replacement worker stores the rest, each once; its metrics count exactly the rest.
        procs["notify-worker"] = replacement = start(stack, "notify", "worker", ports["notify-worker"])
        await ready(ports["notify-worker"], replacement)

        async def all_once() -> bool:
            rows = await (
                await notifications.aggregate(
                    [
                        {"$match": {"share_id": {"$in": share_ids}}},
                        {"$group": {"_id": {"s": "$share_id", "u": "$user_id"}, "n": {"$sum": 1}}},
                        {"$match": {"n": {"$gt": 1}}},
                    ]
                )
            ).to_list()
            assert not rows, f"duplicates: {rows[:5]}"
            return await notifications.count_documents({"share_id": {"$in": share_ids}}) == total

        await eventually(all_once, timeout=40, interval=0.5)

        async def scraped() -> str:
            async with httpx.AsyncClient(timeout=5) as c:
                text = (await c.get(f"http://127.0.0.1:{ports['notify-worker']}/metrics")).text
            lag = [
                ln
                for ln in text.splitlines()
                if ln.startswith("learnloop_consumer_lag{") and topics["DELIVERIES"] in ln
            ]
            assert len(lag) == 8 and all(ln.endswith(" 0.0") for ln in lag), lag  # every partition caught up
            return text

        text = await eventually(scraped, timeout=10, interval=0.5)
        created = metric(text, "learnloop_notifications_created_total", kind="share.delivered")
        consumed = metric(
            text, "messaging_client_consumed_messages_total", messaging_destination_name=topics["DELIVERIES"]
        )
        assert created == total - stored, text[:2000]
        assert consumed == total - stored
        assert re.search(r"^messaging_process_duration_seconds_count\{", text, re.M)
    finally:
        for proc in procs.values():
            proc.stop(timeout=25)
        await notify_db.client.close()
