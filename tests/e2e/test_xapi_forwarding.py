"""Forwarding over the real stack: a stack of its own with ``LEARNLOOP_XAPI_FORWARD_URL`` pointing at a
receiver on loopback. Statements posted to learn's LRS reach it in order, through failures, past a
statement it refuses and across a restart of learn; ``GET /v1/lrs/forwarding`` shows it all."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import uvicorn
from learnloop_shared.local.servers import LocalInfra, free_port
from learnloop_shared.local.stack import LocalStack
from learnloop_shared.settings import Topics
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..helpers import eventually
from .conftest import TEST_ENV, Api, running_stack

KEY, SECRET = "learnloop", "forwarding-secret"
V = {"X-Experience-API-Version": "1.0.3"}
BAD_VERB = "http://example.com/verbs/refused-by-the-remote"


class Receiver:
    """Another LRS: needs Basic credentials and version 1.0.3; 503 while ``down``; 400 for a batch holding a
    statement with :data:`BAD_VERB`; keeps what it accepts, in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.order: list[str] = []
        self.statements: dict[str, dict[str, Any]] = {}
        self.down = False

    async def endpoint(self, request: Request) -> Response:
        auth = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if request.headers.get("authorization") != auth or request.headers.get("x-experience-api-version") != "1.0.3":
            return Response(status_code=401)
        if self.down:
            return Response("maintenance", status_code=503, headers={"Retry-After": "0"})
        batch = json.loads(await request.body())
        if any(s["verb"]["id"] == BAD_VERB for s in batch):
            return JSONResponse({"message": "verb not allowed here"}, status_code=400)
        for s in batch:
            if s["id"] not in self.statements:
                self.statements[s["id"]] = s
                self.order.append(s["id"])
        return JSONResponse([s["id"] for s in batch])


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/lrs/xapi/statements", rec.endpoint, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=rec.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield rec
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
def fwd_stack(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[LocalStack]:
    var = tmp_path_factory.mktemp("fwd")
    (var / "fwd-password").write_text(SECRET + "\n")
    env = {
        **TEST_ENV,
        **{f"LEARNLOOP_TOPICS__{f.upper()}": f"fwd.{name}" for f, name in Topics().model_dump().items()},
        "LEARNLOOP_KAFKA_CREATE_TOPICS": "true",
        "LEARNLOOP_KAFKA_GROUP_PREFIX": "fwd",
        "LEARNLOOP_XAPI_FORWARD_URL": f"http://127.0.0.1:{receiver.port}/lrs/xapi",
        "LEARNLOOP_XAPI_FORWARD_USERNAME": KEY,
        "LEARNLOOP_XAPI_FORWARD_PASSWORD_FILE": str(var / "fwd-password"),
        "LEARNLOOP_XAPI_FORWARD_BATCH_SIZE": "4",
        "LEARNLOOP_XAPI_FORWARD_MAX_BACKOFF_S": "0.5",
        "LEARNLOOP_XAPI_FORWARD_POLL_S": "0.1",
        "LEARNLOOP_XAPI_FORWARD_TIMEOUT_S": "2",
    }
    yield from running_stack(infra, var, "fwd", env)


@pytest.fixture
async def fwd(fwd_stack: LocalStack) -> AsyncIterator[Api]:
    a = Api(fwd_stack)
    yield a
    await a.close()


def statement(verb: str = "http://adlnet.gov/expapi/verbs/experienced") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": f"mailto:{uuid.uuid4().hex[:8]}@example.com"},
        "verb": {"id": verb},
        "object": {"id": f"http://example.com/activities/{uuid.uuid4().hex[:8]}"},
    }


async def post(api: Api, *statements: dict[str, Any]) -> list[str]:
    headers = {**api.auth("xapi-tool", "xapi:write"), **V}
    r = await api.learn.post("/xapi/statements", json=list(statements), headers=headers)
    assert r.status_code == 200, r.text
    ids: list[str] = r.json()
    return ids


async def state(api: Api) -> dict[str, Any]:
    r = await api.learn.get("/v1/lrs/forwarding", headers=api.auth("lrs-admin", "lrs:admin"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_without_a_forwarding_url_the_state_says_disabled(api: Api) -> None:
    body = await state(api)
    assert body["enabled"] is False and body["endpoint"] is None and body["version"] is None
    assert body["pending"] == 0  # nothing is marked while forwarding is off
    r = await api.learn.get("/v1/lrs/forwarding", headers=api.auth("someone", "xapi:read", "xapi:write"))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


async def test_statements_reach_the_other_lrs_in_order_through_failures(fwd: Api, receiver: Receiver) -> None:
    receiver.down = True
    first = await post(fwd, *(statement() for _ in range(3)))
    second = await post(fwd, statement(), statement(BAD_VERB), statement())
    bad = second[1]

    async def failing() -> dict[str, Any] | None:
        s = await state(fwd)
        return s if s["consecutive_failures"] >= 2 else None

    s = await eventually(failing)
    assert s["pending"] == 6 and s["last_error"].startswith("HTTP 503") and "maintenance" in s["last_error"]
    assert s["enabled"] is True and s["version"] == "1.0.3" and s["batch_size"] == 4
    assert s["endpoint"] == f"http://127.0.0.1:{receiver.port}/lrs/xapi"
    receiver.down = False

    async def settled() -> dict[str, Any] | None:
        s = await state(fwd)
        return s if s["pending"] == 0 and s["forwarded"] == 5 else None  # unmarked, then counted

    s = await eventually(settled)
    # Each POST's statements share `stored`: within one, the order is by id; the first POST's go first.
    assert receiver.order == sorted(first) + sorted(i for i in second if i != bad)
    assert s["rejected"] == 1 and s["consecutive_failures"] == 0
    assert s["recent_rejections"][0]["id"] == bad and "verb not allowed here" in s["recent_rejections"][0]["reason"]
    # As stored by learn's LRS (authority and stored included).
    r = await fwd.learn.get(
        "/xapi/statements", params={"statementId": first[0]}, headers={**fwd.auth("x", "xapi:read"), **V}
    )
    assert receiver.statements[first[0]] == r.json()


async def test_pending_statements_are_forwarded_after_learn_restarts(
    fwd: Api, fwd_stack: LocalStack, receiver: Receiver
) -> None:
    before = (await state(fwd))["forwarded"]
    receiver.down = True
    ids = await post(fwd, statement(), statement())
    await eventually(lambda: _failed_once(fwd))
    await asyncio.to_thread(fwd_stack.restart_service, "learn")
    await asyncio.to_thread(fwd_stack.wait_ready, "learn")
    receiver.down = False
    await eventually(lambda: _all_in(receiver, ids))
    await eventually(lambda: _forwarded(fwd, before + 2))


async def _failed_once(api: Api) -> bool:
    s = await state(api)
    return s["consecutive_failures"] >= 1 and s["pending"] == 2


async def _forwarded(api: Api, n: int) -> bool:
    return (await state(api))["forwarded"] == n


async def _all_in(receiver: Receiver, ids: list[str]) -> bool:
    return all(i in receiver.statements for i in ids)
