"""Acknowledgement benchmark: concurrent ``POST /v1/shares/{id}/acknowledgements`` against the local stack.

A share goes to a seeded audience; once learn has stored every recipient, ``clients`` concurrent
clients each post ``opened`` for distinct recipients (each a new 201) until ``count`` are recorded. It
measures acknowledgements per second and the p99 latency. In the same run, the raw baseline writes the
same documents with the same transaction shape (one transaction per acknowledgement: the
acknowledgement, the progress upsert, the outbox entry) with PyMongo straight to learn's database server,
at the same concurrency, without our code. Ratios: rate ÷ raw rate and raw p99 ÷ our p99 (1.0 = as fast
as the raw writes).

With ``storm``, a second series (``learned`` for the same recipients) runs while shares to the same
audience are published one after another, so learn consumes deliveries throughout: the issue's scenario.
It is reported against the same quiet raw baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from learnloop_shared.auth import issue_token
from learnloop_shared.events import LearningAcknowledged, encode, make_event
from learnloop_shared.local.stack import LocalStack
from pymongo import ASCENDING, AsyncMongoClient

from ..helpers import metric
from .common import CpuMeter, out, process_ids, seed_users

ACK_AUDIENCE = 10_000
DELIVERIES = "learnloop.deliveries"


@dataclass
class Series:
    """One series of acknowledgements: how many, how fast, how long each took."""

    count: int = 0
    per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, latencies: list[float], elapsed: float, cpu: dict[str, float]) -> Series:
        ordered = sorted(latencies)
        return cls(
            count=len(ordered),
            per_s=len(ordered) / elapsed,
            p50_ms=1000 * ordered[len(ordered) // 2],
            p99_ms=1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            cpu_s=cpu,
        )


@dataclass
class AckRun:
    audience: int
    clients: int
    ours: Series = field(default_factory=Series)
    raw: Series = field(default_factory=Series)
    storm: Series | None = None
    storm_deliveries: int = 0

    @property
    def ratios(self) -> dict[str, float | None]:
        return {
            "rate": self.ours.per_s / self.raw.per_s,
            "p99": self.raw.p99_ms / self.ours.p99_ms,
            "storm_rate": self.storm.per_s / self.raw.per_s if self.storm else None,
            "storm_p99": self.raw.p99_ms / self.storm.p99_ms if self.storm else None,
        }


async def _learn_has_all(db: Any, share_id: str, n: int, timeout: float) -> None:
    """Wait until learn has stored every recipient of the share (a few bucket documents to sum)."""
    deadline = time.monotonic() + timeout
    pipeline = [
        {"$match": {"_id": {"$gte": f"{share_id}|", "$lt": f"{share_id}}}"}}},
        {"$group": {"_id": None, "n": {"$sum": "$n"}}},
    ]
    while True:
        rows = await (await db["audience"].aggregate(pipeline)).to_list()
        if rows and rows[0]["n"] >= n and await db["shares"].find_one({"_id": share_id}, {"_id": 1}):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"learn: {rows} of {n} recipients of {share_id} after {timeout:.0f}s")
        await asyncio.sleep(0.25)


async def _publish(client: httpx.AsyncClient, topic: str, title: str) -> str:
    r = await client.post("/v1/shares", json={"title": title, "audience": {"topics": [topic]}})
    r.raise_for_status()
    return str(r.json()["id"])


async def _post_acks(url: str, share_id: str, tokens: list[str], kind: str, clients: int) -> tuple[list[float], float]:
    """``len(tokens)`` acknowledgements by ``clients`` concurrent clients; each must be a new one (201)."""
    path = f"/v1/shares/{share_id}/acknowledgements"
    latencies: list[float] = []
    queue = iter(tokens)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            for token in queue:
                t0 = time.perf_counter()
                r = await c.post(path, json={"kind": kind}, headers={"Authorization": f"Bearer {token}"})
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    raise AssertionError(f"acknowledgement: {r.status_code} {r.text}")

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - t0


def _outbox_value(share_id: str) -> bytes:
    ev = make_event(
        LearningAcknowledged(
            acknowledgement_id=f"{share_id}|bench-user|opened",
            share_id=share_id,
            author_id="bench-author",
            recipient_id="bench-user",
            title="Benchmark acknowledgements",
            kind="opened",
            replaced=False,
            acknowledged_at=datetime.now(UTC),
        ),
        source="/learnloop/learn",
        subject=share_id,
    )
    return encode(ev)


async def raw_acks(mongo: AsyncMongoClient[dict[str, Any]], n: int, clients: int) -> tuple[list[float], float]:
    """The same three writes per acknowledgement in one transaction each, straight with PyMongo."""
    db = mongo[f"bench_raw_acks_{time.monotonic_ns()}"]
    acks, progress, outbox = db["acknowledgements"], db["progress"], db["outbox"]
    # The indexes learn has on these collections.
    await acks.create_index([("share_id", ASCENDING), ("kind", ASCENDING), ("at", ASCENDING)])
    await outbox.create_index([("sent_at", ASCENDING)], expireAfterSeconds=3 * 86400)
    await outbox.create_index([("sent", ASCENDING), ("created_at", ASCENDING)])
    share_id = "0" * 36
    value = _outbox_value(share_id)
    headers = [["content-type", b"application/cloudevents+json; charset=utf-8"]]
    latencies: list[float] = []
    queue = iter(range(n))

    async def client() -> None:
        for i in queue:
            user = f"bench-user-{i:07d}"
            now = datetime.now(UTC)

            async def work(session: Any, user: str = user, now: datetime = now, i: int = i) -> None:
                doc = {"share_id": share_id, "user_id": user, "kind": "opened", "rating": None, "text": None}
                await acks.insert_one({"_id": f"{share_id}|{user}|opened", **doc, "at": now}, session=session)
                await progress.update_one(
                    {"_id": f"{share_id}|{user}"},
                    {"$addToSet": {"acknowledged": "opened"}, "$setOnInsert": {"share_id": share_id, "user_id": user}},
                    upsert=True,
                    session=session,
                )
                entry = {"_id": f"raw-{i}", "topic": "learnloop.acknowledgements", "key": share_id, "value": value}
                entry |= {"headers": headers, "created_at": now, "sent": False, "sent_at": None}
                await outbox.insert_many([entry], session=session)

            t0 = time.perf_counter()
            async with mongo.start_session() as session:
                await session.with_transaction(work)
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    await mongo.drop_database(db.name)
    return latencies, elapsed


async def _storm(stack: LocalStack, author: httpx.AsyncClient, topic: str, n: int, stop: asyncio.Event) -> int:
    """Publish shares to the audience one after another until ``stop``; returns deliveries learn consumed."""
    labels = {"messaging_destination_name": DELIVERIES}
    name = "messaging_client_consumed_messages_total"
    async with httpx.AsyncClient(timeout=10) as client:

        async def consumed() -> float:
            return metric((await client.get(f"{stack.url('learn')}/metrics")).text, name, **labels)

        start = await consumed()
        i = 0
        while not stop.is_set():
            target = await consumed() + n
            await _publish(author, topic, f"Storm {i}")
            i += 1
            while not stop.is_set() and await consumed() < target:
                await asyncio.sleep(0.1)
        return int(await consumed() - start)


async def ack_run(
    stack: LocalStack,
    secret: str,
    admin_token: str,
    count: int,
    clients: int,
    storm: bool,
    audience: int = ACK_AUDIENCE,
) -> AckRun:
    run = AckRun(audience=audience, clients=clients)
    count = min(count, audience)
    topic = "bench.acks"
    pids = process_ids(stack)
    watched = {k: pids[k] for k in ("learn", "db-learn", "kafka", "share", "notify", "db-notify")}
    watched["bench"] = os.getpid()  # the clients themselves share the two cores
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.infra.mongo_url_for("learn"), tz_aware=True)
    try:
        out(f"acknowledgements: raw baseline ({count:,} transactions, {clients} clients)…")
        with CpuMeter(watched) as cpu:
            latencies, elapsed = await raw_acks(mongo, count, clients)
        run.raw = Series.of(latencies, elapsed, cpu.spent)

        out(f"acknowledgements: seeding {audience:,} recipients and publishing…")
        await seed_users(stack.url("share"), admin_token, audience, topic)
        users = [f"{topic}-u{j:07d}" for j in range(audience)]
        tokens = [issue_token(secret, u) for u in users[:count]]
        headers = {"Authorization": f"Bearer {issue_token(secret, 'bench-author')}"}
        async with httpx.AsyncClient(base_url=stack.url("share"), headers=headers, timeout=30) as author:
            share_id = await _publish(author, topic, "Benchmark acknowledgements")
            await _learn_has_all(mongo["bench_learn"], share_id, audience, 60 + audience / 200)

            out(f"acknowledgements: {count:,} through learn's API ({clients} clients)…")
            with CpuMeter(watched) as cpu:
                latencies, elapsed = await _post_acks(stack.url("learn"), share_id, tokens, "opened", clients)
            run.ours = Series.of(latencies, elapsed, cpu.spent)

            if storm:
                out(f"acknowledgements: {count:,} more while learn consumes deliveries…")
                stop = asyncio.Event()
                storming = asyncio.create_task(_storm(stack, author, topic, audience, stop))
                await asyncio.sleep(0.5)  # the first deliveries are arriving
                try:
                    with CpuMeter(watched) as cpu:
                        latencies, elapsed = await _post_acks(stack.url("learn"), share_id, tokens, "learned", clients)
                finally:
                    stop.set()
                    run.storm_deliveries = await storming
                run.storm = Series.of(latencies, elapsed, cpu.spent)
    finally:
        with contextlib.suppress(Exception):
            await mongo.close()
    return run


def ack_table(run: AckRun) -> str:
    head = f"{'series':>24} | {'acks/s':>7} {'(×raw)':>6} | {'p50 ms':>7} | {'p99 ms':>7} {'(raw÷)':>6}"
    head += " | CPU s learn/db-learn/bench"
    lines = [f"acknowledgements: audience {run.audience:,}, {run.clients} concurrent clients", head, "-" * len(head)]
    q = run.ratios

    def row(name: str, s: Series, rate: float | None, p99: float | None) -> str:
        r = f"{rate:>6.2f}" if rate is not None else f"{'':>6}"
        p = f"{p99:>6.2f}" if p99 is not None else f"{'':>6}"
        cpu = "/".join(f"{s.cpu_s.get(k, 0):.1f}" for k in ("learn", "db-learn", "bench"))
        return f"{name:>24} | {s.per_s:>7,.0f} {r} | {s.p50_ms:>7.1f} | {s.p99_ms:>7.1f} {p} | {cpu}"

    lines.append(row("raw transactions", run.raw, None, None))
    lines.append(row("POST (quiet)", run.ours, q["rate"], q["p99"]))
    if run.storm is not None:
        name = f"POST ({run.storm_deliveries:,} deliveries)"
        lines.append(row(name, run.storm, q["storm_rate"], q["storm_p99"]))
    return "\n".join(lines)
