"""Report benchmark: a share's 100,000 recipients in a team report and the CSV export, against the local stack.

Learn's database gets a share with 100,000 recipients written directly (recipient buckets through learn's
storage, then ``insert_many`` of progress documents for 60% of them, the directory copy's users,
memberships and teams: 100 teams of 1,000 members, nested ten to a group under one organisation).
Measured over HTTP: ``GET /v1/shares/{id}/report`` (seconds) and ``GET /v1/shares/{id}/report.csv``
streamed to the end (rows per second, each row parsed), with the peak RSS of learn meanwhile. The raw
baseline reads the same documents (buckets, progress, memberships, users of the share) with plain range
scans in ``_id`` order and no joins; the ratio is export rows/s ÷ raw rows/s (1.0 = as fast as reading
the documents).
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from learnloop_learn.domain.audience import Bucket
from learnloop_learn.domain.shares import new_share
from learnloop_learn.storage.directory import DirectoryCopy
from learnloop_learn.storage.learning import LearningStore
from learnloop_shared.auth import issue_token
from learnloop_shared.events import utcnow
from learnloop_shared.local.stack import LocalStack
from pymongo import AsyncMongoClient

from .common import BATCH, RssSampler, out, process_ids

RECIPIENTS = 100_000
TEAM_SIZE = 1000
TEAMS_PER_GROUP = 10
AUTHOR = "bench-report-author"


@dataclass
class ReportRun:
    recipients: int
    report_s: float = 0.0
    csv_s: float = 0.0
    csv_rows_per_s: float = 0.0
    raw_rows_per_s: float = 0.0
    teams_in_report: int = 0
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.csv_rows_per_s / self.raw_rows_per_s if self.raw_rows_per_s else 0.0


async def seed(db: Any, share_id: str, n: int) -> None:
    """The share, its recipient buckets, progress for 60% of them, and the directory copy."""
    store = LearningStore(db)
    await store.ensure_indexes()
    directory = DirectoryCopy(db)
    await directory.ensure_indexes()
    now = utcnow()
    users = [f"{share_id}-u{i:07d}" for i in range(n)]
    await store.upsert_shares([new_share(share_id, AUTHOR, "Benchmark report", None, (), now)])
    await store.add_recipients(
        [Bucket(f"{share_id}|o0:{i}", share_id, now, tuple(users[i : i + BATCH])) for i in range(0, n, BATCH)]
    )
    teams = [f"{share_id}-t{k:04d}" for k in range(-(-n // TEAM_SIZE))]
    groups = [teams[k : k + TEAMS_PER_GROUP] for k in range(0, len(teams), TEAMS_PER_GROUP)]
    team_docs = [{"_id": t, "name": f"Team {t[-4:]}", "teams": [], "managers": [], "version": 1} for t in teams]
    team_docs += [
        {"_id": f"{g[0]}-group", "name": f"Group {g[0][-4:]}", "teams": g, "managers": [], "version": 1} for g in groups
    ]
    team_docs.append(
        {
            "_id": f"{share_id}-org",
            "name": "Organisation",
            "teams": [f"{g[0]}-group" for g in groups],
            "managers": [],
            "version": 1,
        }
    )
    await db["dir_teams"].insert_many(team_docs)
    for i in range(0, n, BATCH):
        chunk = users[i : i + BATCH]
        await db["dir_users"].insert_many(
            [{"_id": u, "name": f"User {u[-7:]}", "email": None, "version": 1} for u in chunk]
        )
        await db["memberships"].insert_many(
            [{"_id": u, "teams": [teams[(i + j) // TEAM_SIZE]]} for j, u in enumerate(chunk)]
        )
        progress = [
            {
                "_id": f"{share_id}|{u}",
                "share_id": share_id,
                "user_id": u,
                "cycle": 1,
                "acknowledged": ["opened", "learned"],
                "first_at": {"opened": now, "learned": now + timedelta(seconds=60 + (i + j) % 3600)},
                "last_completed_revision": 1,
                "completed_revisions": [1],
                "rating": 1 + (i + j) % 5,
                "check_passed": (i + j) % 2 == 0,
                "check_best": 1.0 if (i + j) % 2 == 0 else 0.5,
            }
            for j, u in enumerate(chunk)
            if (i + j) % 5 < 3
        ]
        await db["progress"].insert_many(progress)


async def raw_rows(db: Any, share_id: str) -> float:
    """Rows/s of reading the export's documents with plain ``_id`` range scans (no joins, no CSV)."""
    t0 = time.perf_counter()
    rows = 0
    span = {"$gte": f"{share_id}|", "$lt": f"{share_id}}}"}
    async for b in db["audience"].find({"_id": span}, {"users": 1, "stored_at": 1}).sort("_id", 1):
        rows += len(b["users"])
    async for _ in db["progress"].find({"_id": span}).sort("_id", 1):
        pass
    people = {"$gte": f"{share_id}-u", "$lt": f"{share_id}-v"}
    async for _ in db["memberships"].find({"_id": people}).sort("_id", 1):
        pass
    async for _ in db["dir_users"].find({"_id": people}, {"name": 1}).sort("_id", 1):
        pass
    return rows / (time.perf_counter() - t0)


async def report_run(stack: LocalStack, secret: str, n: int = RECIPIENTS) -> ReportRun:
    run = ReportRun(recipients=n)
    share_id = f"bench-report-{int(time.time())}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.infra.mongo_url_for("learn"), tz_aware=True)
    db = client["bench_learn"]
    try:
        out(f"reports: seeding a share with {n:,} recipients and the directory copy…")
        await seed(db, share_id, n)
        out("reports: raw baseline…")
        run.raw_rows_per_s = await raw_rows(db, share_id)
        headers = {"Authorization": f"Bearer {issue_token(secret, AUTHOR)}"}
        pids = process_ids(stack)
        async with httpx.AsyncClient(base_url=stack.url("learn"), headers=headers, timeout=600) as http:
            with RssSampler({"learn": pids["learn"]}) as rss:
                out(f"reports: GET /report of {n:,} recipients…")
                t0 = time.perf_counter()
                r = await http.get(f"/v1/shares/{share_id}/report")
                run.report_s = time.perf_counter() - t0
                r.raise_for_status()
                report = r.json()
                assert report["totals"]["recipients"] == n, report["totals"]
                run.teams_in_report = len(report["by_team"])
                out(f"reports: GET /report.csv of {n:,} rows…")
                rows = 0
                t0 = time.perf_counter()
                async with http.stream("GET", f"/v1/shares/{share_id}/report.csv") as resp:
                    resp.raise_for_status()
                    pending = ""
                    async for text in resp.aiter_text():
                        pending += text
                        complete, _, pending = pending.rpartition("\r\n")
                        rows += sum(1 for _ in csv.reader(io.StringIO(complete))) if complete else 0
                run.csv_s = time.perf_counter() - t0
        assert rows == n + 1, f"{rows - 1} CSV rows for {n} recipients"
        run.csv_rows_per_s = n / max(run.csv_s, 1e-3)
        run.peak_rss_mb = {k: round(v / 2**20, 1) for k, v in rss.peak.items()}
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    return run


def report_table(run: ReportRun) -> str:
    head = f"{'recipients':>10} | {'teams':>5} | {'GET /report':>11} | {'CSV':>8} | {'CSV rows/s':>10} {'(×raw)':>6} | "
    head += f"{'raw rows/s':>10} | peak RSS MB learn"
    row = f"{run.recipients:>10,} | {run.teams_in_report:>5} | {run.report_s:>10.2f}s | {run.csv_s:>7.2f}s | "
    row += f"{run.csv_rows_per_s:>10,.0f} {run.ratio:>6.2f} | {run.raw_rows_per_s:>10,.0f} | "
    row += f"{run.peak_rss_mb.get('learn', 0):.0f}"
    return "\n".join(["reports", head, "-" * len(head), row])
