"""A knowledge check's answer key never reaches a recipient: every payload bob can see of a share with a
check — his inbox, the live stream, his webhook's bodies, learn's ``/checks`` (before and after an
attempt), ``/me/learning``, ``/me/learning/state``, the share as he reads it from the share service — and
the ``share.delivered`` events on Kafka hold no ``answer`` key and no sign of which choice is right.

The author's view of the same share is the positive control: it does hold the answers, so the search
below would find them if they leaked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import uvicorn
from learnloop_shared.events import decode
from learnloop_shared.settings import Topics
from starlette.applications import Starlette
from starlette.routing import Route

from ..helpers import eventually, read_all
from .test_loop import directory
from .test_notify_follow_through import need
from .test_notify_live import next_event
from .test_webhooks import Receiver, put_hook

TOPICS = Topics()
# Texts that appear nowhere else, so a leak of the key in any form is found by the key's name.
CHECKS = [
    {
        "question": "Which offset is committed? pq1",
        "choices": ["the last read pq1a", "the next to read pq1b"],
        "answer": 1,
    },
    {
        "question": "What keeps order? pq2",
        "choices": ["the topic pq2a", "the partition pq2b", "the broker"],
        "answer": 1,
    },
]
# ``answers`` (what a recipient sent) and ``correct`` (per question, right or wrong) are not the key.
KEY_NAMES = frozenset({"answer", "answer_key", "correct_answer", "correct_choice", "right_choice"})


def keys_named(payload: Any, names: frozenset[str] = KEY_NAMES) -> Iterator[str]:
    """Every path in ``payload`` (parsed JSON) whose key is one of ``names``."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in names:
                yield str(key)
            yield from (f"{key}.{inner}" for inner in keys_named(value, names))
    elif isinstance(payload, list | tuple):
        for i, value in enumerate(payload):
            yield from (f"{i}.{inner}" for inner in keys_named(value, names))


def assert_no_answer_key(where: str, payload: Any) -> None:
    found = list(keys_named(payload))
    assert found == [], f"{where} holds an answer key: {found}: {json.dumps(payload, default=str)[:2000]}"


@contextlib.asynccontextmanager
async def live_events(api: Any, user: str) -> AsyncIterator[list[dict[str, Any]]]:
    """The user's live stream, read in the background into the yielded list."""
    events: list[dict[str, Any]] = []
    opened = asyncio.Event()

    async def read() -> None:
        async with api.notify.stream("GET", "/v1/notifications/stream", headers=api.auth(user), timeout=60) as r:
            assert r.status_code == 200
            opened.set()
            lines = r.aiter_lines()
            while True:
                with contextlib.suppress(TimeoutError):
                    events.append(await next_event(lines, timeout=60))

    task = asyncio.create_task(read())
    try:
        await asyncio.wait_for(opened.wait(), timeout=15)
        await asyncio.sleep(0.3)  # the server watches the change stream from now on
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    """A webhook receiver on loopback (as in test_webhooks) for the test's duration."""
    rec = Receiver()
    app = Starlette(routes=[Route("/hooks/{name}", rec.endpoint, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=rec.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield rec
    server.should_exit = True
    await task


async def test_no_recipient_visible_payload_holds_the_answer_key(api, hooks: Receiver, unique):
    await need(api, "learn", "/v1/shares/{id}/checks/attempts", "post")  # learn's knowledge checks
    ids = await directory(api, unique)
    alice, bob = ids["alice"], ids["bob"]
    hook = f"privacy-{unique}"
    await put_hook(api, bob, hook, hooks.url(hook), events=("share.delivered", "reminder", "share.revised"))

    async with live_events(api, bob) as streamed:
        body = {
            "title": f"Offsets and order {unique}",
            "summary": "Two questions at the end",
            "audience": {"users": [bob]},
            "checks": CHECKS,
            "pass_mark": 1.0,
            "max_attempts": 3,
        }
        r = await api.share.post("/v1/shares", json=body, headers=api.auth(alice))
        assert r.status_code == 202, r.text
        sid = r.json()["id"]

        async def in_inbox() -> list[dict[str, Any]]:
            r = await api.notify.get("/v1/notifications", headers=api.auth(bob))
            return [n for n in r.json()["items"] if n["share_id"] == sid]

        [note] = await eventually(in_inbox, timeout=30)
        assert note["has_checks"] is True and "knowledge check" in note["text"]
        await eventually(lambda: _streamed(streamed, sid), timeout=15)
        await eventually(lambda: _hooked(hooks, hook, sid), timeout=20)

    # The author sees the key (the positive control for the search).
    r = await api.share.get(f"/v1/shares/{sid}", headers=api.auth(alice))
    assert r.status_code == 200, r.text
    assert [c["answer"] for c in r.json()["checks"]] == [1, 1]
    assert list(keys_named(r.json())) != []

    # learn: the check as bob sees it, a wrong attempt (graded without saying which choice is right), again.
    checks_path = f"/v1/shares/{sid}/checks"

    async def learn_has_it() -> dict[str, Any] | None:
        r = await api.learn.get(checks_path, headers=api.auth(bob))
        return dict(r.json()) if r.status_code == 200 else None

    before = await eventually(learn_has_it, timeout=30)
    assert [i["question"] for i in before["items"]] == [c["question"] for c in CHECKS]
    r = await api.learn.post(f"{checks_path}/attempts", json={"answers": [0, 1]}, headers=api.auth(bob))
    assert r.status_code == 201, r.text
    attempt = r.json()
    assert attempt["correct"] == [False, True] and attempt["passed"] is False
    after = await learn_has_it()
    assert after is not None and after["attempts_used"] == 1

    r = await api.learn.get("/v1/me/learning", headers=api.auth(bob))
    assert r.status_code == 200, r.text
    my_learning = r.json()
    r = await api.learn.get("/v1/me/learning/state", params={"share_id": sid}, headers=api.auth(bob))
    assert r.status_code == 200, r.text
    state = r.json()
    assert [i["checks"]["attempts_used"] for i in state["items"] if i["share_id"] == sid] == [1]
    r = await api.share.get(f"/v1/shares/{sid}", headers=api.auth(bob))
    share_as_bob = r.json() if r.status_code == 200 else None  # a recipient may be refused; then nothing shows

    r = await api.notify.get("/v1/notifications", headers=api.auth(bob))
    inbox = [n for n in r.json()["items"] if n["share_id"] == sid]
    bodies = [json.loads(x["body"]) for x in hooks.received.get(hook, [])]
    records = await read_all(api.stack.infra, TOPICS.deliveries, timeout_ms=30000, quiet_ms=1500)
    deliveries = [e for e in (decode(rec.value) for rec in records) if getattr(e.data, "share_id", None) == sid]
    assert len(deliveries) == 1 and deliveries[0].data.has_checks is True

    seen: dict[str, Any] = {
        "inbox": inbox,
        "stream": [e for e in streamed if e.get("data", {}).get("share_id") == sid],
        "webhook bodies": bodies,
        "learn /checks before": before,
        "learn attempt": attempt,
        "learn /checks after": after,
        "learn /me/learning": my_learning,
        "learn /me/learning/state": state,
        "share GET as bob": share_as_bob,
        "share.delivered": [json.loads(e.data.model_dump_json()) for e in deliveries],
    }
    for where, payload in seen.items():
        assert_no_answer_key(where, payload)
    # Nor the check in another shape: the choices travel only where the check is shown to be taken.
    choices = [c for check in CHECKS for c in check["choices"]]
    shows_the_check = {"learn /checks before", "learn /checks after", "share GET as bob"}
    for where, payload in seen.items():
        if where not in shows_the_check:
            dumped = json.dumps(payload, default=str)
            assert not [c for c in choices if c in dumped], f"{where} carries the check's choices: {dumped[:2000]}"


async def _streamed(events: list[dict[str, Any]], sid: str) -> bool:
    return any(e.get("data", {}).get("share_id") == sid for e in events)


async def _hooked(rec: Receiver, hook: str, sid: str) -> bool:
    return any(sid in x["body"] for x in rec.received.get(hook, []))
