"""Webhooks against a real HTTP receiver on loopback: signatures, retries, order, dead letters, SSRF."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from learnloop_shared.events import decode
from learnloop_shared.local.servers import free_port
from learnloop_shared.settings import Topics
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..helpers import eventually, read_all
from .test_errors import assert_problem
from .test_loop import directory

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """Records every request; /flaky/N fails N times first, /down always answers 503, /slow hangs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: dict[str, list[dict]] = {}
        self.failures: dict[str, int] = {}

    async def endpoint(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = (await request.body()).decode()
        headers = {k: v for k, v in request.headers.items()}
        self.received.setdefault(name, []).append({"body": body, "headers": headers})
        if name.startswith("flaky"):
            budget = int(name.split("-")[1])
            self.failures[name] = self.failures.get(name, 0) + 1
            if self.failures[name] <= budget:
                return Response(status_code=500)
        if name == "down":
            return Response(status_code=503)
        if name == "slow":
            await asyncio.sleep(5)
        return Response(status_code=204)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def verified(self, name: str) -> list[dict]:
        return [Webhook(SECRET).verify(r["body"], r["headers"]) for r in self.received.get(name, [])]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/hooks/{name}", rec.endpoint, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=rec.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield rec
    server.should_exit = True
    await task


async def put_hook(api, user, hook_id, url, events=("share.delivered",)):
    r = await api.notify.put(
        f"/v1/webhooks/{hook_id}", json={"url": url, "events": list(events), "secret": SECRET}, headers=api.auth(user)
    )
    assert r.status_code == 200, r.text
    assert "secret" not in r.json()
    return r.json()


async def share(api, author, users, title):
    r = await api.share.post(
        "/v1/shares", json={"title": title, "audience": {"users": users}}, headers=api.auth(author)
    )
    assert r.status_code == 202
    return r.json()["id"]


async def test_signed_cloudevents_in_order_with_retries(api, receiver, unique):
    ids = await directory(api, unique)
    bob = ids["bob"]
    await put_hook(api, bob, f"bob-{unique}", receiver.url(f"flaky-2-{unique}"))
    sids = []
    for i in range(3):
        sids.append(await share(api, ids["alice"], [bob], f"Hook {i}"))

        async def stored(sid=sids[-1]):
            items = (await api.notify.get("/v1/notifications", headers=api.auth(bob))).json()["items"]
            return any(n["share_id"] == sid for n in items)

        await eventually(stored)

    async def all_delivered():
        events = receiver.verified(f"flaky-2-{unique}")
        ok = [e for e in events]
        return len({e["data"]["share_id"] for e in ok}) == 3 and ok

    events = await eventually(all_delivered, timeout=20)
    # Every request is a signed CloudEvent; the first was retried twice; order is kept per subscriber.
    assert all(e["type"] == "io.learnloop.notification.created.v1" and e["specversion"] == "1.0" for e in events)
    schema = "https://learnloop.io/schemas/events/io.learnloop.notification.created.v1.json"
    assert all(e["dataschema"] == schema for e in events)
    assert [e["data"]["share_id"] for e in events] == [sids[0]] * 3 + sids[1:]
    assert all(
        r["headers"]["content-type"] == "application/cloudevents+json" for r in receiver.received[f"flaky-2-{unique}"]
    )
    ids_seen = [r["headers"]["webhook-id"] for r in receiver.received[f"flaky-2-{unique}"]]
    assert ids_seen[0] == ids_seen[1] == ids_seen[2]  # retries keep the message id (receivers dedupe)

    r = await api.notify.get(f"/v1/webhooks/bob-{unique}/deliveries", headers=api.auth(bob))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [d["status"] for d in items] == ["delivered"] * 3
    assert sorted(d["attempts"] for d in items) == [1, 1, 3]


async def test_dead_endpoint_is_dead_lettered_without_delaying_others(api, stack, receiver, unique):
    ids = await directory(api, unique)
    bob, carol = ids["bob"], ids["carol"]
    await put_hook(api, bob, f"down-{unique}", receiver.url("down"))
    await put_hook(api, carol, f"ok-{unique}", receiver.url(f"ok-{unique}"))
    await share(api, ids["alice"], [bob, carol], "Both")

    async def carol_got_it():
        return receiver.verified(f"ok-{unique}")

    await eventually(carol_got_it, timeout=10)

    async def dead():
        r = await api.notify.get(
            f"/v1/webhooks/down-{unique}/deliveries", params={"status": "dead"}, headers=api.auth(bob)
        )
        return r.json()["items"]

    [delivery] = await eventually(dead, timeout=20)
    assert delivery["attempts"] == 4 and delivery["last_status_code"] == 503 and "HTTP 503" in delivery["last_error"]

    async def in_dlq():
        for rec in await read_all(stack.infra, Topics().dead_letters):
            d = decode(rec.value).data
            if d.consumer == "webhooks" and d.topic == f"webhook:{bob}/down-{unique}":
                return d
        return None

    d = await eventually(in_dlq, timeout=10)
    assert "failed after 4 attempts: HTTP 503" in d.reason


async def test_addresses_are_refused_unless_allowed(api, receiver, unique):
    ids = await directory(api, unique)
    bob = ids["bob"]
    for url in (
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/x",
        # IPv6 forms that carry 169.254.169.254: NAT64, IPv4-compatible, IPv4-translated, 6to4
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[::a9fe:a9fe]/",
        "http://[::ffff:0:a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::1]/",
        "http://[::ffff:127.0.0.1]/",  # loopback is allowed here, but only as 127.0.0.0/8 and ::1
    ):
        r = await api.notify.put(
            f"/v1/webhooks/ssrf-{unique}",
            headers=api.auth(bob),
            json={"url": url, "events": ["feedback"], "secret": SECRET},
        )
        assert_problem(r, 422)
    for url, says in (
        ("ftp://x", "http(s)"),
        ("http://127.0.0.1:99999/", "port"),
        ("http://user:pw@127.0.0.1/", "credentials"),
        ("http://127.0.0.1/" + "x" * 2048, "2048"),
    ):
        r = await api.notify.put(
            f"/v1/webhooks/x-{unique}",
            headers=api.auth(bob),
            json={"url": url, "events": ["feedback"], "secret": SECRET},
        )
        assert_problem(r, 422)
        assert says in r.text, r.text
    assert_problem(await api.notify.get(f"/v1/webhooks/x-{unique}", headers=api.auth(bob)), 404)


async def test_webhook_ids_are_scoped_to_their_owner(api, receiver, unique):
    ids = await directory(api, unique)
    bob, carol = ids["bob"], ids["carol"]
    await put_hook(api, bob, f"mine-{unique}", receiver.url("mine"))
    # Someone else's id looks exactly like a missing one.
    for who in (carol, ids["alice"]):
        for path in (f"/v1/webhooks/mine-{unique}", f"/v1/webhooks/mine-{unique}/deliveries"):
            missing = await api.notify.get(path.replace("mine-", "none-"), headers=api.auth(who))
            theirs = await api.notify.get(path, headers=api.auth(who))
            assert_problem(theirs, 404)
            assert theirs.json()["detail"] == missing.json()["detail"]
        assert_problem(await api.notify.delete(f"/v1/webhooks/mine-{unique}", headers=api.auth(who)), 404)
    # Carol's PUT of the same id creates her own webhook and leaves Bob's alone.
    hers = await put_hook(api, carol, f"mine-{unique}", receiver.url(f"carol-{unique}"), events=("feedback",))
    assert hers["id"] == f"mine-{unique}" and hers["url"] == receiver.url(f"carol-{unique}")
    r = await api.notify.get(f"/v1/webhooks/mine-{unique}", headers=api.auth(bob))
    assert r.status_code == 200 and r.json()["url"] == receiver.url("mine")
    # Bob's webhook still delivers.
    await share(api, ids["alice"], [bob], "Scoped")

    async def bob_got_it():
        return receiver.verified("mine")

    await eventually(bob_got_it, timeout=10)
    assert receiver.received.get(f"carol-{unique}") is None  # hers only takes feedback
    r = await api.notify.delete(f"/v1/webhooks/mine-{unique}", headers=api.auth(bob))
    assert r.status_code == 204
    assert_problem(await api.notify.get(f"/v1/webhooks/mine-{unique}", headers=api.auth(bob)), 404)
    r = await api.notify.get(f"/v1/webhooks/mine-{unique}", headers=api.auth(carol))
    assert r.status_code == 200 and r.json()["url"] == receiver.url(f"carol-{unique}")
