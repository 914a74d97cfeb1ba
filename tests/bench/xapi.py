"""Statement ingestion benchmark: concurrent ``POST /xapi/statements`` against the local stack.

``clients`` concurrent clients (HTTP Basic with an LRS credential the bench writes into learn's database
through the ``CredentialStore``) post ``statements`` statements in batches of ``batch`` (xAPI 1.0.3):
typical statements from a learning tool (account actor, verb with a display, an Activity with a name and
``moreInfo``, a result with a score, a context with a registration and a parent Activity, a timestamp).
It measures statements stored per second (first POST sent → last response received, every response a
200) and the CPU of learn and of its database server meanwhile.

The raw baseline, in the same run: the very documents the LRS stored (read back by id afterwards) written
with plain ``insert_many`` of ``batch`` documents, at the same concurrency, into a scratch collection of
the same database (no index but ``_id``). A second baseline writes them into a scratch collection with the
LRS's indexes (``StatementStore.ensure_indexes``), to tell the cost of the indexes from the cost of our
code. Ratio: statements/s ÷ raw insert_many documents/s (target ≥ 0.50).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from learnloop_learn.storage.xapi.credentials import CredentialStore
from learnloop_learn.storage.xapi.statements import StatementStore
from learnloop_shared.events import utcnow
from learnloop_shared.local.stack import LocalStack
from pymongo import AsyncMongoClient

from .common import CpuMeter, RssSampler, out, process_ids

STATEMENTS = 20_000
CLIENTS = 4
BATCH = 100
VERSION = "1.0.3"


@dataclass
class XapiRun:
    statements: int
    clients: int
    batch: int
    post_s: float = 0.0
    statements_per_s: float = 0.0
    raw_per_s: float = 0.0
    raw_indexed_per_s: float = 0.0
    p99_batch_ms: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    raw_db_cpu_s: float = 0.0
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.statements_per_s / self.raw_per_s if self.raw_per_s else 0.0

    @property
    def ratio_indexed(self) -> float:
        return self.statements_per_s / self.raw_indexed_per_s if self.raw_indexed_per_s else 0.0


def sample_statement(run_id: str, i: int) -> dict[str, Any]:
    """A statement as a learning tool sends it (its own ``id``, a timestamp, result and context)."""
    return {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "name": f"Learner {i % 5000}",
            "account": {"homePage": "https://lms.example.com", "name": f"user-{i % 5000:05d}"},
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {
            "objectType": "Activity",
            "id": f"https://lms.example.com/{run_id}/courses/{i % 200}/lessons/{i % 17}",
            "definition": {
                "name": {"en-US": f"Lesson {i % 17} of course {i % 200}"},
                "type": "http://adlnet.gov/expapi/activities/lesson",
                "moreInfo": f"https://lms.example.com/courses/{i % 200}",
            },
        },
        "result": {"score": {"scaled": 0.85, "raw": 85, "min": 0, "max": 100}, "success": True, "completion": True},
        "context": {
            "registration": str(uuid.uuid4()),
            "contextActivities": {"parent": [{"id": f"https://lms.example.com/{run_id}/courses/{i % 200}"}]},
            "platform": "Example LMS",
            "language": "en-US",
        },
        "timestamp": "2026-12-01T10:30:00.123Z",
    }


async def _post_all(
    url: str, auth: tuple[str, str], batches: list[list[dict[str, Any]]], clients: int
) -> tuple[float, list[float]]:
    """Post every batch with ``clients`` concurrent clients; (elapsed seconds, per-batch latencies)."""
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    latencies: list[float] = []
    headers = {"X-Experience-API-Version": VERSION}

    async def client(c: httpx.AsyncClient) -> None:
        while True:
            try:
                batch = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t = time.perf_counter()
            r = await c.post("/xapi/statements", json=batch, headers=headers)
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise RuntimeError(f"POST /xapi/statements: {r.status_code} {r.text[:300]}")

    conns = [httpx.AsyncClient(base_url=url, auth=auth, timeout=120) for _ in range(clients)]
    try:
        # One request each first, so that connection setup is not measured.
        await asyncio.gather(*(c.get("/xapi/about", headers=headers) for c in conns), return_exceptions=True)
        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for c in conns))
        return time.perf_counter() - t0, latencies
    finally:
        for c in conns:
            await c.aclose()


async def raw_insert_many(coll: Any, docs: list[dict[str, Any]], batch: int, clients: int) -> float:
    """Documents/s of plain ``insert_many`` (unordered, ``batch`` per call, ``clients`` at once)."""
    chunks = [docs[i : i + batch] for i in range(0, len(docs), batch)]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def client() -> None:
        while True:
            try:
                chunk = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await coll.insert_many(chunk, ordered=False)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(docs) / (time.perf_counter() - t0)


async def xapi_run(stack: LocalStack, n: int = STATEMENTS, clients: int = CLIENTS, batch: int = BATCH) -> XapiRun:
    run = XapiRun(statements=n, clients=clients, batch=batch)
    run_id = f"bench-xapi-{int(time.time())}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.infra.mongo_url_for("learn"), tz_aware=True)
    db = client["bench_learn"]
    scratch_db = client[f"bench_xapi_raw_{int(time.time())}"]
    try:
        key, secret = run_id, secrets.token_urlsafe(24)
        await CredentialStore(db).put(key, secret, "xAPI benchmark", ["statements/write", "statements/read"], utcnow())
        statements = [sample_statement(run_id, i) for i in range(n)]
        ids = [s["id"] for s in statements]
        batches = [statements[i : i + batch] for i in range(0, n, batch)]
        pids = process_ids(stack)
        out(f"xapi: POST /xapi/statements, {n:,} statements in batches of {batch} from {clients} clients…")
        with (
            CpuMeter({"learn": pids["learn"], "db-learn": pids["db-learn"]}) as cpu,
            RssSampler({"learn": pids["learn"]}) as rss,
        ):
            run.post_s, latencies = await _post_all(stack.url("learn"), (key, secret), batches, clients)
        run.statements_per_s = n / run.post_s
        run.cpu_s = cpu.spent
        run.peak_rss_mb = {k: round(v / 2**20, 1) for k, v in rss.peak.items()}
        latencies.sort()
        run.p99_batch_ms = round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1)
        # Read back by a plain scan: the local database server answers a large ``$in`` by matching every
        # document against every id, which takes minutes at 20,000.
        wanted = set(ids)
        docs = [d async for d in db["xapi_statements"].find({}) if d["_id"] in wanted]
        assert len(docs) == n, f"{len(docs)} of {n} statements stored"
        out("xapi: raw insert_many of the same documents…")
        with CpuMeter({"db-learn": pids["db-learn"]}) as raw_cpu:
            run.raw_per_s = await raw_insert_many(scratch_db["plain"], docs, batch, clients)
        run.raw_db_cpu_s = raw_cpu.spent["db-learn"]
        out("xapi: raw insert_many into a collection with the LRS's indexes…")
        indexed = StatementStore(scratch_db)
        await indexed.ensure_indexes()
        run.raw_indexed_per_s = await raw_insert_many(indexed.statements, docs, batch, clients)
    finally:
        with contextlib.suppress(Exception):
            await client.drop_database(scratch_db.name)
        with contextlib.suppress(Exception):
            await client.close()
    return run


def xapi_table(run: XapiRun) -> str:
    head = f"{'statements':>10} | {'clients':>7} | {'batch':>5} | {'time':>7} | {'statements/s':>12} {'(×raw)':>6} | "
    head += f"{'raw/s':>8} | {'raw+idx/s':>9} {'(×)':>5} | {'p99 batch':>9} | CPU s learn / db | RSS MB"
    row = f"{run.statements:>10,} | {run.clients:>7} | {run.batch:>5} | {run.post_s:>6.2f}s | "
    row += f"{run.statements_per_s:>12,.0f} {run.ratio:>6.2f} | {run.raw_per_s:>8,.0f} | "
    row += f"{run.raw_indexed_per_s:>9,.0f} {run.ratio_indexed:>5.2f} | {run.p99_batch_ms:>7.0f}ms | "
    row += f"{run.cpu_s.get('learn', 0):>5.1f} / {run.cpu_s.get('db-learn', 0):.1f} | "
    row += f"{run.peak_rss_mb.get('learn', 0):.0f}"
    return "\n".join(["xapi", head, "-" * len(head), row])
