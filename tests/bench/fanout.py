"""Fan-out benchmark: POST /v1/shares → every inbox notification stored, against the local stack.

Run with ``make bench``. For each audience size it measures the time from the POST to the last inbox
notification stored, the rate of each stage (fan-out produced, notify stored, learn stored) and the
peak RSS of each service process; in the same run it measures the baselines underneath (raw aiokafka
produce and consume of as many same-size messages on the same broker, raw ``insert_many`` of as many
documents into the same database) and prints each stage's rate as a ratio to its baseline.
Then, on the same stack, the acknowledgement run (see :mod:`.acks`), the reminder run (see
:mod:`.reminders`), the report run (see :mod:`.reports`) and the xAPI statement ingestion run (see
:mod:`.xapi`). ``--only fanout``, ``--only acks``, ``--only reminders``, ``--only reports`` or
``--only xapi`` runs one part.
Results go to ``var/bench/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from learnloop_shared.auth import ensure_local_secret, issue_token
from learnloop_shared.events import ShareDelivered, encode, make_event
from learnloop_shared.local.servers import LocalInfra, free_port
from learnloop_shared.local.stack import SERVICES, LocalStack
from pymongo import AsyncMongoClient

from .acks import AckRun, ack_run, ack_table
from .common import BATCH, CpuMeter, RssSampler, cpu_seconds, out, process_ids, seed_users, wait_counted
from .reminders import ReminderRun, reminder_run, reminder_table
from .reports import ReportRun, report_run, report_table
from .xapi import XapiRun, xapi_run, xapi_table

log = logging.getLogger("bench")
# A consumer stage's rate is N / (last - first stored). It needs enough batches to mean anything: the
# consumers handle two batches at once, so with 2 or 3 batches first and last are stored together.
CONSUMER_BATCH = 500  # LEARNLOOP_CONSUMER_BATCH_SIZE's default
MIN_BATCHES_FOR_RATES = 10


@dataclass
class Run:
    audience: int
    e2e_s: float = 0.0
    fanout_per_s: float = 0.0
    notify_per_s: float = 0.0
    learn_per_s: float = 0.0
    raw_produce_per_s: float = 0.0
    raw_consume_per_s: float = 0.0
    raw_insert_per_s: float = 0.0
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    # CPU seconds spent by each process (services, their database servers, the broker) from the POST to
    # the last notification, and by notify's database server during the raw insert_many baseline.
    pipeline_cpu_s: dict[str, float] = field(default_factory=dict)
    raw_insert_db_cpu_s: float = 0.0

    @property
    def consumer_rates_measured(self) -> bool:
        return self.audience >= MIN_BATCHES_FOR_RATES * CONSUMER_BATCH

    @property
    def ratios(self) -> dict[str, float | None]:
        measured = self.consumer_rates_measured
        return {
            "fanout/produce": self.fanout_per_s / self.raw_produce_per_s,
            "notify/insert_many": self.notify_per_s / self.raw_insert_per_s if measured else None,
            "learn/insert_many": self.learn_per_s / self.raw_insert_per_s if measured else None,
            "notify/consume": self.notify_per_s / self.raw_consume_per_s if measured else None,
        }


def sample_value() -> bytes:
    ev = make_event(
        ShareDelivered(
            share_id="0" * 36,
            recipient_id="bench-user-000001",
            author_id="bench-author",
            title="Benchmark share",
            published_at=datetime.now(UTC),
        ),
        source="/learnloop/share",
    )
    return encode(ev)


async def raw_produce_consume(bootstrap: str, n: int, value: bytes) -> tuple[float, float]:
    topic = f"bench-raw-{n}-{time.monotonic_ns()}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=8, replication_factor=1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    t0 = time.perf_counter()
    for i in range(0, n, BATCH):
        futures = [await producer.send(topic, value, key=f"u{j}".encode()) for j in range(i, min(n, i + BATCH))]
        await asyncio.gather(*futures)
    produce_s = time.perf_counter() - t0
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    got = 0
    t0 = time.perf_counter()
    while got < n:
        for msgs in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
            got += len(msgs)
    consume_s = time.perf_counter() - t0
    await consumer.stop()
    return n / produce_s, n / consume_s


async def raw_insert(mongo: AsyncMongoClient[dict[str, Any]], n: int, db_pid: int) -> tuple[float, float]:
    """Documents per second, and the database server's CPU seconds for them."""
    coll = mongo["bench_raw"][f"docs_{n}_{time.monotonic_ns()}"]
    await coll.create_index([("user_id", 1), ("created_at", -1), ("_id", -1)])  # as notifications have
    now = datetime.now(UTC)
    cpu0 = cpu_seconds(db_pid)
    t0 = time.perf_counter()
    for i in range(0, n, BATCH):
        docs = [
            {
                "_id": f"n{j:08d}",
                "user_id": f"bench-user-{j:06d}",
                "kind": "share.delivered",
                "share_id": "s",
                "title": "Benchmark share",
                "text": "bench-author shared “Benchmark share” with you",
                "created_at": now,
                "read_at": None,
                "source_event_id": f"e{j}",
            }
            for j in range(i, min(n, i + BATCH))
        ]
        await coll.insert_many(docs, ordered=False)
    rate = n / (time.perf_counter() - t0)
    db_cpu = cpu_seconds(db_pid) - cpu0
    await coll.drop()
    return rate, db_cpu


async def stage_window(coll: Any, share_id: str, field: str) -> tuple[datetime, datetime]:
    cursor = await coll.aggregate(
        [
            {"$match": {"share_id": share_id}},
            {"$group": {"_id": None, "first": {"$min": f"${field}"}, "last": {"$max": f"${field}"}}},
        ]
    )
    row = (await cursor.to_list())[0]
    return row["first"], row["last"]


async def pipeline_run(stack: LocalStack, db: dict[str, Any], n: int, total: int, token: str, admin_token: str) -> Run:
    run = Run(audience=n)
    topic = f"bench.a{n}"
    await seed_users(stack.url("share"), admin_token, n, topic)
    everything = process_ids(stack)
    pids = {name: everything[name] for name in SERVICES}
    async with httpx.AsyncClient(
        base_url=stack.url("share"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        with RssSampler(pids) as rss, CpuMeter(everything) as cpu:
            t0 = datetime.now(UTC)
            r = await client.post("/v1/shares", json={"title": f"Benchmark {n}", "audience": {"topics": [topic]}})
            r.raise_for_status()
            share_id = r.json()["id"]
            timeout = 60 + n / 200
            created = "learnloop_notifications_created_total"
            await wait_counted(stack.url("notify"), created, {"kind": "share.delivered"}, total, timeout)
            consumed = "messaging_client_consumed_messages_total"
            deliveries = {"messaging_destination_name": "learnloop.deliveries"}
            await wait_counted(stack.url("learn"), consumed, deliveries, total, timeout)
        share = await db["share"]["shares"].find_one({"_id": share_id})
    assert share is not None and share["delivered"] == n, share
    stored = await db["notify"]["notifications"].count_documents({"share_id": share_id})
    assert stored == n, f"notify: {stored} of {n} stored"  # exactly once, all stored
    rows = await (
        await db["learn"]["audience"].aggregate(
            [{"$match": {"share_id": share_id}}, {"$group": {"_id": None, "n": {"$sum": "$n"}}}]
        )
    ).to_list()
    assert rows and rows[0]["n"] == n, f"learn: {rows} of {n} recipients stored"
    fan_start, fan_end = share["fanout"]["started_at"], share["delivered_at"]
    n_first, n_last = await stage_window(db["notify"]["notifications"], share_id, "created_at")
    l_first, l_last = await stage_window(db["learn"]["audience"], share_id, "stored_at")
    run.e2e_s = (n_last - t0).total_seconds()
    run.fanout_per_s = n / max((fan_end - fan_start).total_seconds(), 1e-3)
    run.notify_per_s = n / max((n_last - n_first).total_seconds(), 1e-3)
    run.learn_per_s = n / max((l_last - l_first).total_seconds(), 1e-3)
    run.peak_rss_mb = {k: round(v / 2**20, 1) for k, v in rss.peak.items()}
    run.pipeline_cpu_s = cpu.spent
    return run


def table(runs: list[Run]) -> str:
    head = (
        f"{'audience':>9} | {'POST→last inbox':>15} | {'fan-out/s':>9} {'(×prod)':>7} | {'notify/s':>8} "
        f"{'(×ins)':>6} | {'learn/s':>8} {'(×ins)':>6} | {'raw prod/s':>10} {'raw cons/s':>10} "
        f"{'raw ins/s':>9} | peak RSS MB share/learn/notify"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        q = r.ratios
        rss = "/".join(f"{r.peak_rss_mb.get(s, 0):.0f}" for s in SERVICES)
        if r.consumer_rates_measured:
            notify = f"{r.notify_per_s:>8,.0f} {q['notify/insert_many']:>6.2f}"
            learn = f"{r.learn_per_s:>8,.0f} {q['learn/insert_many']:>6.2f}"
        else:
            notify = learn = f"{'—':>8} {'—':>6}"
        lines.append(
            f"{r.audience:>9,} | {r.e2e_s:>14.2f}s | {r.fanout_per_s:>9,.0f} {q['fanout/produce']:>7.2f} | "
            f"{notify} | {learn} | {r.raw_produce_per_s:>10,.0f} {r.raw_consume_per_s:>10,.0f} "
            f"{r.raw_insert_per_s:>9,.0f} | {rss}"
        )
    return "\n".join(lines)


def cpu_table(runs: list[Run]) -> str:
    """Where the CPU went during each pipeline run (2 cores here: compare with 2 × POST→last inbox)."""
    names = sorted({name for r in runs for name in r.pipeline_cpu_s})
    head = f"{'audience':>9} | " + " ".join(f"{n:>10}" for n in names) + f" | {'total':>6} | db-notify raw ins"
    lines = ["CPU seconds from POST to last inbox, per process", head, "-" * len(head)]
    for r in runs:
        cells = " ".join(f"{r.pipeline_cpu_s.get(n, 0):>10.1f}" for n in names)
        total = sum(r.pipeline_cpu_s.values())
        lines.append(f"{r.audience:>9,} | {cells} | {total:>6.1f} | {r.raw_insert_db_cpu_s:>17.1f}")
    return "\n".join(lines)


@dataclass
class AckOptions:
    count: int
    clients: int
    storm: bool


@dataclass
class XapiOptions:
    statements: int
    clients: int


async def main_async(
    sizes: list[int],
    var: Path,
    acks: AckOptions | None,
    reminders: int | None = None,
    reports: int | None = None,
    xapi: XapiOptions | None = None,
) -> tuple[list[Run], AckRun | None, ReminderRun | None, ReportRun | None, XapiRun | None]:
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    secret = ensure_local_secret(var / "auth-secret")
    infra = LocalInfra.on_free_ports(SERVICES, data_dir=var, log_dir=var / "log")
    stack = LocalStack(
        infra=infra,
        ports={s: free_port() for s in SERVICES},
        var_dir=var,
        secret_file=var / "auth-secret",
        db_prefix="bench",
        extra_env={"LEARNLOOP_LOG_LEVEL": "WARNING", "OTEL_METRICS_EXPORTER": "prometheus"},
    )
    out("starting broker, database and services…")
    await asyncio.to_thread(stack.start)
    clients = {name: AsyncMongoClient(infra.mongo_url_for(name), tz_aware=True) for name in SERVICES}
    db = {name: clients[name][f"bench_{name}"] for name in SERVICES}
    token = issue_token(secret, "bench-author")
    admin_token = issue_token(secret, "bench-admin", ["directory:write"])
    value = sample_value()
    runs: list[Run] = []
    ack: AckRun | None = None
    reminded: ReminderRun | None = None
    reported: ReportRun | None = None
    ingested: XapiRun | None = None
    total = 0
    try:
        for n in sizes:
            out(f"audience {n:,}: baselines…")
            prod, cons = await raw_produce_consume(infra.bootstrap, n, value)
            ins, ins_cpu = await raw_insert(clients["notify"], n, process_ids(stack)["db-notify"])
            out(f"audience {n:,}: pipeline…")
            total += n
            run = await pipeline_run(stack, db, n, total, token, admin_token)
            run.raw_produce_per_s, run.raw_consume_per_s, run.raw_insert_per_s = prod, cons, ins
            run.raw_insert_db_cpu_s = round(ins_cpu, 2)
            runs.append(run)
            out(table([run]).splitlines()[-1])
        if acks is not None:
            ack = await ack_run(stack, secret, admin_token, acks.count, acks.clients, acks.storm)
        if reminders:
            reminded = await reminder_run(stack, secret, admin_token, reminders)
        if reports:
            reported = await report_run(stack, secret, reports)
        if xapi is not None:
            ingested = await xapi_run(stack, xapi.statements, xapi.clients)
    finally:
        for client in clients.values():
            await client.close()
        await asyncio.to_thread(stack.stop)
    return runs, ack, reminded, reported, ingested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated audience sizes")
    parser.add_argument(
        "--only",
        choices=("fanout", "acks", "reminders", "reports", "xapi"),
        help="run only the fan-out, acknowledgement, reminder, report or xAPI ingestion part",
    )
    parser.add_argument("--reminders", type=int, default=100_000, help="pending recipients in the reminder run")
    parser.add_argument("--reports", type=int, default=100_000, help="recipients of the share in the report run")
    parser.add_argument("--statements", type=int, default=20_000, help="statements posted in the xAPI run")
    parser.add_argument("--xapi-clients", type=int, default=4, help="concurrent clients posting xAPI statements")
    parser.add_argument("--acks", type=int, default=5000, help="acknowledgements per series (of 10,000 recipients)")
    parser.add_argument("--ack-clients", type=int, default=16, help="concurrent clients posting acknowledgements")
    parser.add_argument("--no-storm", action="store_true", help="skip the series posted while deliveries are consumed")
    parser.add_argument("--var", default="var/bench", help="working folder (wiped)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",")] if args.only in (None, "fanout") else []
    acks = AckOptions(args.acks, args.ack_clients, not args.no_storm) if args.only in (None, "acks") else None
    reminders = args.reminders if args.only in (None, "reminders") else None
    reports = args.reports if args.only in (None, "reports") else None
    xapi = XapiOptions(args.statements, args.xapi_clients) if args.only in (None, "xapi") else None
    var = Path(args.var).resolve()
    runs, ack, reminded, reported, ingested = asyncio.run(
        main_async(sizes, var / "run", acks, reminders, reports, xapi)
    )
    result: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "host": {"cpus": os.cpu_count()}}
    if runs:
        out()
        out(table(runs))
        out()
        out(cpu_table(runs))
        out()
        out("Ratios are stage rate / baseline measured in the same run (targets: fan-out ≥ 0.50 of raw produce,")
        out("notify ≥ 0.70 of raw insert_many). Stage rates are N / (last − first event of that stage);")
        out(f"consumer stage rates (—) need ≥ {MIN_BATCHES_FOR_RATES} batches of {CONSUMER_BATCH}: with fewer, the")
        out("first and last batch are handled at once (two are in flight) and the window says nothing.")
        result["message_bytes"] = len(sample_value())
        result["runs"] = [{**asdict(r), "ratios": r.ratios} for r in runs]
    if ack is not None:
        out()
        out(ack_table(ack))
        out()
        out("Ratios: acknowledgements/s ÷ raw transactions/s, and raw p99 ÷ our p99 (target: rate ≥ 0.50).")
        result["acknowledgements"] = {**asdict(ack), "ratios": ack.ratios}
    if reminded is not None:
        out()
        out(reminder_table(reminded))
        out()
        out("Ratio: recipients reminded per second (round start → last reminder stored by notify) ÷ raw insert_many.")
        result["reminders"] = {**asdict(reminded), "ratio": reminded.ratio}
    if reported is not None:
        out()
        out(report_table(reported))
        out()
        out("Ratio: CSV rows/s (streamed over HTTP and parsed) ÷ raw rows/s (the same documents read by _id ranges).")
        result["reports"] = {**asdict(reported), "ratio": reported.ratio}
    if ingested is not None:
        out()
        out(xapi_table(ingested))
        out()
        out("Ratio: statements stored per second over POST /xapi/statements ÷ raw insert_many of the same documents")
        out("(same batch size and concurrency, no index but _id; target ≥ 0.50). raw+idx: the same into a collection")
        out("with the LRS's indexes.")
        result["xapi"] = {**asdict(ingested), "ratio": ingested.ratio, "ratio_indexed": ingested.ratio_indexed}
    (var / "latest.json").write_text(json.dumps(result, indent=2))
    out(f"written {var / 'latest.json'}")


if __name__ == "__main__":
    main()
