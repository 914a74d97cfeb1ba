"""Forwarding statements to another LRS, against the real database and a real HTTP receiver on loopback:
order, batches, exactly the statements stored while enabled, retries with backoff and Retry-After, a bad
statement parked without blocking the rest, replays after a crash, one runner across replicas, restarts."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from learnloop_learn.domain.xapi.forwarding import Target, mark_pending
from learnloop_learn.domain.xapi.scopes import XapiCaller
from learnloop_learn.jobs.xapi_forwarding import ForwardingJob, HttpRemote
from learnloop_learn.storage.xapi.forwarding import ForwardingStore
from learnloop_learn.storage.xapi.statements import StatementStore
from learnloop_learn.usecases.xapi.forwarding import Forwarding, ForwardSettings
from learnloop_learn.usecases.xapi.intake import StatementIntake
from learnloop_shared.events import utcnow
from learnloop_shared.jobs import Job, JobRunner
from learnloop_shared.local.servers import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..helpers import eventually

KEY, SECRET = "fwd-key", "fwd-secret"
AUTHORITY = {"objectType": "Agent", "name": "tool", "account": {"homePage": "https://learn.test/xapi", "name": "t"}}
CALLER = XapiCaller(AUTHORITY, "account|https://learn.test/xapi|t", frozenset({"all"}), credential="t")


@dataclass
class Receiver:
    """A small LRS: checks the version header and Basic credentials, keeps statements by id.

    ``fail`` answers the next N requests 503 (with ``retry_after`` if set); a batch holding an id in ``bad``
    is refused with 400; a batch holding an id it has already is refused with 409 as a whole (a strict LRS).
    """

    port: int = field(default_factory=free_port)
    requests: list[list[dict[str, Any]]] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    fail: int = 0
    retry_after: str | None = None
    bad: set[str] = field(default_factory=set)
    headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xapi/"

    async def statements(self, request: Request) -> Response:
        self.headers.append(dict(request.headers))
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        if request.headers.get("x-experience-api-version") != "1.0.3":
            return Response("version", status_code=400)
        batch = json.loads(await request.body())
        self.requests.append(batch)
        if self.fail > 0:
            self.fail -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return Response("busy", status_code=503, headers=headers)
        ids = [s["id"] for s in batch]
        bad = [i for i in ids if i in self.bad]
        if bad:
            return JSONResponse({"message": f"statement {bad[0]} is invalid: verb.display"}, status_code=400)
        if any(i in self.stored for i in ids):
            return JSONResponse({"message": "conflict"}, status_code=409)
        for s in batch:
            self.stored[s["id"]] = s
            self.order.append(s["id"])
        return JSONResponse(ids)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/xapi/statements", rec.statements, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=rec.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield rec
    server.should_exit = True
    await task


class Env:
    def __init__(self, db: Any, receiver: Receiver) -> None:
        self.db = db
        self.receiver = receiver
        self.statements = StatementStore(db)
        self.store = ForwardingStore(db)
        self.plain = StatementIntake(self.statements)  # forwarding not enabled
        self.intake = StatementIntake(self.statements)
        self.intake.before_store.append(mark_pending)
        self.runners: list[JobRunner] = []

    def job(self, batch: int = 3, lease_s: float = 10.0, owner: str | None = None) -> ForwardingJob:
        remote = HttpRemote(self.receiver.url, "1.0.3", KEY, SECRET, timeout_s=5)
        settings = ForwardSettings(batch_size=batch, base_backoff_s=0.05, max_backoff_s=0.2, lease_s=lease_s)
        forwarding = Forwarding(self.store, remote, settings, owner or uuid.uuid4().hex)
        return ForwardingJob(forwarding, remote, Target(self.receiver.url, "1.0.3", batch))

    def run(self, job: ForwardingJob) -> JobRunner:
        runner = JobRunner([Job("xapi-forwarding", job.run_due, every_s=0.05, close=job.close)])
        runner.start()
        self.runners.append(runner)
        return runner

    async def post(self, *statements: dict[str, Any], intake: StatementIntake | None = None) -> list[str]:
        body: Any = list(statements) if len(statements) > 1 else statements[0]
        return await (intake or self.intake).store(body, CALLER, "1.0.3")

    async def stored_order(self, ids: list[str]) -> list[str]:
        docs = await self.db["xapi_statements"].find({"_id": {"$in": ids}}).sort([("stored", 1), ("_id", 1)]).to_list()
        return [d["_id"] for d in docs]


def statement(n: int = 0) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": f"mailto:learner{n}@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
        "object": {"id": f"http://example.com/activities/{n}"},
    }


@pytest.fixture
async def env(mongo, unique, receiver) -> AsyncIterator[Env]:
    e = Env(mongo[f"fwd_{unique}"], receiver)
    await e.statements.ensure_indexes()
    await e.store.ensure_indexes()
    yield e
    for runner in e.runners:
        await runner.stop()


async def test_statements_go_out_in_stored_order_in_batches_exactly_those_stored_while_enabled(env: Env) -> None:
    before = await env.post(statement(99), intake=env.plain)  # stored before forwarding was enabled
    ids = await env.post(statement(1))
    ids += await env.post(*(statement(i) for i in range(2, 7)))
    ids += await env.post(statement(7))
    env.run(env.job(batch=3))

    async def all_there() -> bool:
        return len(env.receiver.order) == len(ids)

    await eventually(all_there)
    assert env.receiver.order == await env.stored_order(ids)
    assert before[0] not in env.receiver.stored
    assert all(len(batch) <= 3 for batch in env.receiver.requests)
    assert len(env.receiver.requests) == 3  # 7 statements, 3 per request
    assert {h["x-experience-api-version"] for h in env.receiver.headers} == {"1.0.3"}
    # As stored: what a GET of our LRS answers (id, stored, authority, version set by us).
    doc = await env.db["xapi_statements"].find_one({"_id": ids[0]})
    assert env.receiver.stored[ids[0]] == doc["statement"]
    state = await _settled(env, 7)
    assert state["rejected"] == 0
    assert state["last_forwarded_at"] is not None and state["last_error"] is None
    assert state["consecutive_failures"] == 0 and state["oldest_pending_stored"] is None
    assert await env.db["xapi_statements"].count_documents({"fwd": {"$exists": True}}) == 0


async def test_failures_back_off_honour_retry_after_and_then_deliver(env: Env) -> None:
    env.receiver.fail, env.receiver.retry_after = 3, "1"
    ids = await env.post(*(statement(i) for i in range(4)))
    job = env.job(batch=10)

    for failures in (1, 2):  # one pass per attempt, driven by hand to look at the state between them
        assert await job.run_due() == 0
        state = await env.store.read()
        assert state["consecutive_failures"] == failures and state["pending"] == 4
        assert state["last_error"].startswith("HTTP 503") and "busy" in state["last_error"]
        # Retry-After: 1 is longer than the backoff (0.05 s doubling, capped at 0.2 s): it wins.
        wait = (state["next_attempt_at"] - state["last_error_at"]).total_seconds()
        assert 0.99 <= wait <= 1.01
        assert await job.run_due() == 0  # before next_attempt_at: no request
        assert len(env.receiver.requests) == failures
        await eventually(lambda s=state: _after(s["next_attempt_at"]))
    env.run(job)
    state = await _settled(env, 4)
    assert all(i in env.receiver.stored for i in ids)
    assert state["consecutive_failures"] == 0 and state["next_attempt_at"] is None
    assert state["last_error"].startswith("HTTP 503")  # kept, with last_error_at, for the operator
    assert len(env.receiver.requests) == 4  # three refused, one accepted


async def _after(at: Any) -> bool:
    return utcnow() >= at


async def _settled(env: Env, forwarded: int) -> dict[str, Any]:
    """The state once nothing is pending and the count has reached ``forwarded`` (the job runs meanwhile:
    it unmarks a batch, then counts it)."""

    async def check() -> dict[str, Any] | None:
        state = await env.store.read()
        return state if state["pending"] == 0 and state["forwarded"] == forwarded else None

    return await eventually(check)


async def _delivered(env: Env, ids: list[str]) -> bool:
    return all(i in env.receiver.stored for i in ids) and (await env.store.read())["pending"] == 0


async def test_connection_refused_is_retried_with_capped_backoff(env: Env) -> None:
    ids = await env.post(statement(1))
    job = env.job()
    job.forwarding._remote = HttpRemote(f"http://127.0.0.1:{free_port()}/xapi", "1.0.3", KEY, SECRET, 5)  # nobody
    for _ in range(6):
        await job.run_due()
        state = await env.store.read()
        await eventually(lambda s=state: _after(s["next_attempt_at"]))
    state = await env.store.read()
    assert state["consecutive_failures"] == 6 and state["last_error"].startswith("no response: ConnectError")
    assert (state["next_attempt_at"] - state["last_error_at"]).total_seconds() <= 0.21  # capped at 0.2 s
    env.run(env.job())  # the remote is back
    await eventually(lambda: _delivered(env, ids))


async def test_a_statement_the_remote_refuses_is_parked_and_the_rest_go_on(env: Env) -> None:
    ids = await env.post(*(statement(i) for i in range(8)))
    ordered = await env.stored_order(ids)
    bad = ordered[5]
    env.receiver.bad = {bad}
    env.run(env.job(batch=8))

    state = await _settled(env, 7)
    assert env.receiver.order == [i for i in ordered if i != bad]  # in order, around the bad one
    assert state["rejected"] == 1
    (rejection,) = state["recent_rejections"]
    assert rejection["id"] == bad and rejection["reason"].startswith("HTTP 400")
    assert f"statement {bad} is invalid" in rejection["reason"] and rejection["at"] is not None
    later = await env.post(statement(9))  # a parked statement blocks nothing stored after it
    await eventually(lambda: _delivered(env, later))

    env.receiver.bad = set()  # the remote is fixed; the operator re-queues the parked one
    assert await env.store.retry_rejected() == 1
    state = await _settled(env, 9)
    assert bad in env.receiver.stored
    assert state["rejected"] == 0 and state["recent_rejections"] == []


async def test_a_replay_after_a_crash_counts_as_delivered(env: Env) -> None:
    ids = await env.post(*(statement(i) for i in range(6)))
    ordered = await env.stored_order(ids)
    # The remote took the first three, then we crashed before unmarking them: they are sent again.
    for sid in ordered[:3]:
        doc = await env.db["xapi_statements"].find_one({"_id": sid})
        env.receiver.stored[sid] = doc["statement"]
    env.run(env.job(batch=6))
    state = await _settled(env, 6)
    assert env.receiver.order == ordered[3:]  # each stored once at the remote
    assert state["rejected"] == 0


async def test_one_runner_sends_across_replicas(env: Env) -> None:
    ids: list[str] = []
    for i in range(10):
        ids += await env.post(statement(i))
    for _ in range(3):  # three replicas, each with its own runner
        env.run(env.job(batch=2))
    await eventually(lambda: _delivered(env, ids))
    sent = [s["id"] for batch in env.receiver.requests for s in batch]
    assert sorted(sent) == sorted(ids)  # nothing posted twice
    assert env.receiver.order == await env.stored_order(ids)


async def test_pending_statements_survive_a_restart(env: Env) -> None:
    env.receiver.fail = 1_000_000  # the remote is down while the first process runs
    ids = await env.post(*(statement(i) for i in range(3)))
    first = env.job(lease_s=1.0)
    await first.run_due()  # holds the lease, fails, and then the process dies (no close, lease kept)
    assert (await env.store.read())["pending"] == 3
    env.receiver.fail = 0
    second = env.job(lease_s=1.0)  # a new process: takes over once the dead runner's lease expires
    assert await second.run_due() == 0
    env.run(second)
    await eventually(lambda: _delivered(env, ids))
    assert env.receiver.order == await env.stored_order(ids)


async def test_a_runner_that_stops_hands_over_at_once(env: Env) -> None:
    env.receiver.fail = 1_000_000
    ids = await env.post(statement(1))
    first = env.job(lease_s=3600.0)
    await first.run_due()
    await first.close()  # shutdown: the lease is released
    env.receiver.fail = 0
    state = await env.store.read()
    await eventually(lambda: _after(state["next_attempt_at"]))  # past the backoff
    assert await env.job(lease_s=3600.0).run_due() == 1  # no waiting for an hour's lease
    assert await _delivered(env, ids)
