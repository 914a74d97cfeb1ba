"""Reminder benchmark: a share's 100,000 pending recipients reminded, against the local stack.

A share goes to a seeded audience; once learn has stored every recipient, the author asks for a reminder
(``POST /v1/shares/{id}/reminders``). Measured: the time from the round's start (``started_at``, set by the
learn worker that claims it) until notify has stored the last of the ``reminder`` notifications, the rate
(recipients per second over that time) and the peak RSS of learn and notify meanwhile. In the same run, the
raw baseline inserts as many notification documents of the same shape with ``insert_many`` (batches of
1,000, notify's index) into notify's database server; the ratio is rate ÷ raw rate (1.0 = as fast as raw
inserts). The whole path is in the measured time: learn streaming buckets and checking progress, its
checkpoint transactions with the events, Kafka, notify's consumer and its inserts.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from learnloop_shared.auth import issue_token
from learnloop_shared.local.stack import LocalStack
from pymongo import AsyncMongoClient

from ..helpers import metric
from .acks import _learn_has_all
from .common import BATCH, RssSampler, out, process_ids, seed_users, wait_counted

REMINDED = 100_000
CREATED = "learnloop_notifications_created_total"


@dataclass
class ReminderRun:
    recipients: int
    seconds: float = 0.0
    learn_seconds: float = 0.0  # the round alone: claimed → every batch's event stored and published
    per_s: float = 0.0
    raw_insert_per_s: float = 0.0
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.per_s / self.raw_insert_per_s if self.raw_insert_per_s else 0.0


async def raw_reminders(mongo: AsyncMongoClient[dict[str, Any]], n: int) -> float:
    """Notification documents per second with plain ``insert_many`` (reminder-shaped, notify's index)."""
    coll = mongo["bench_raw"][f"reminders_{n}_{time.monotonic_ns()}"]
    await coll.create_index([("user_id", 1), ("created_at", -1), ("_id", -1)])
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for i in range(0, n, BATCH):
        docs = [
            {
                "_id": f"r{j:08d}",
                "user_id": f"bench.reminders-u{j:07d}",
                "kind": "reminder",
                "share_id": "0" * 36,
                "title": "Benchmark reminders",
                "text": "Reminder: “Benchmark reminders”",
                "url": None,
                "topics": [],
                "created_at": now,
                "read_at": None,
                "source_event_id": f"e{j // 1000}",
            }
            for j in range(i, min(n, i + BATCH))
        ]
        await coll.insert_many(docs, ordered=False)
    rate = n / (time.perf_counter() - t0)
    await coll.drop()
    return rate


async def reminder_run(stack: LocalStack, secret: str, admin_token: str, n: int = REMINDED) -> ReminderRun:
    run = ReminderRun(recipients=n)
    topic = "bench.reminders"
    clients = {s: AsyncMongoClient(stack.infra.mongo_url_for(s), tz_aware=True) for s in ("learn", "notify")}
    learn_db, notify_db = clients["learn"]["bench_learn"], clients["notify"]["bench_notify"]
    try:
        out(f"reminders: raw baseline ({n:,} notification documents)…")
        run.raw_insert_per_s = await raw_reminders(clients["notify"], n)

        out(f"reminders: seeding {n:,} recipients and publishing…")
        await seed_users(stack.url("share"), admin_token, n, topic)
        author = {"Authorization": f"Bearer {issue_token(secret, 'bench-author')}"}
        async with httpx.AsyncClient(headers=author, timeout=60) as client:
            r = await client.post(
                f"{stack.url('share')}/v1/shares",
                json={"title": "Benchmark reminders", "audience": {"topics": [topic]}},
            )
            r.raise_for_status()
            share_id = str(r.json()["id"])
            await _learn_has_all(learn_db, share_id, n, 120 + n / 200)

            async with httpx.AsyncClient(timeout=10) as metrics:
                before = metric((await metrics.get(f"{stack.url('notify')}/metrics")).text, CREATED, kind="reminder")
            pids = process_ids(stack)
            out(f"reminders: {n:,} through POST /v1/shares/{{id}}/reminders…")
            with RssSampler({k: pids[k] for k in ("learn", "notify")}) as rss:
                r = await client.post(f"{stack.url('learn')}/v1/shares/{share_id}/reminders")
                r.raise_for_status()
                assert r.json() == {"pending": n}, r.text
                await wait_counted(stack.url("notify"), CREATED, {"kind": "reminder"}, int(before) + n, 120 + n / 200)
        rnd = await learn_db["rounds"].find_one({"share_id": share_id, "reason": "manual"})
        assert rnd is not None and rnd["state"] == "done" and rnd["reminded"] == n, rnd
        rows = await (
            await notify_db["notifications"].aggregate(
                [
                    {"$match": {"share_id": share_id, "kind": "reminder"}},
                    {"$group": {"_id": None, "n": {"$sum": 1}, "last": {"$max": "$created_at"}}},
                ]
            )
        ).to_list()
        assert rows and rows[0]["n"] == n, f"notify: {rows} of {n} reminders stored"  # each recipient once
        run.seconds = (rows[0]["last"] - rnd["started_at"]).total_seconds()
        run.learn_seconds = (rnd["finished_at"] - rnd["started_at"]).total_seconds()
        run.per_s = n / max(run.seconds, 1e-3)
        run.peak_rss_mb = {k: round(v / 2**20, 1) for k, v in rss.peak.items()}
    finally:
        for c in clients.values():
            with contextlib.suppress(Exception):
                await c.close()
    return run


def reminder_table(run: ReminderRun) -> str:
    head = f"{'recipients':>10} | {'round start→last stored':>23} | {'learn round':>11} | "
    head += f"{'reminded/s':>10} {'(×ins)':>6} | "
    head += f"{'raw ins/s':>9} | peak RSS MB learn/notify"
    rss = "/".join(f"{run.peak_rss_mb.get(s, 0):.0f}" for s in ("learn", "notify"))
    row = f"{run.recipients:>10,} | {run.seconds:>22.2f}s | {run.learn_seconds:>10.2f}s | "
    row += f"{run.per_s:>10,.0f} {run.ratio:>6.2f} | "
    row += f"{run.raw_insert_per_s:>9,.0f} | {rss}"
    return "\n".join(["reminders", head, "-" * len(head), row])
