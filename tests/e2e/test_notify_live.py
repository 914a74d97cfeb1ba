"""Live inbox over SSE with Last-Event-ID resume; unread count and read-all."""

from __future__ import annotations

import asyncio
import json
import time

from ..helpers import eventually
from .test_loop import directory


async def next_event(lines, timeout: float = 10.0) -> dict:
    """Read one SSE event (event, id, data) from an httpx line iterator."""
    event: dict = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(lines.__anext__(), timeout=deadline - time.monotonic())
        if line == "":
            if "data" in event:
                return event
            event = {}
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(": ")
        event[key] = value if key != "data" else json.loads(value)
    raise TimeoutError("no SSE event")


async def share_to(api, author, users, title):
    r = await api.share.post(
        "/v1/shares", json={"title": title, "audience": {"users": users}}, headers=api.auth(author)
    )
    assert r.status_code == 202
    return r.json()["id"]


async def test_stream_pushes_new_notifications_and_resumes(api, unique):
    ids = await directory(api, unique)
    bob = ids["bob"]
    async with api.notify.stream("GET", "/v1/notifications/stream", headers=api.auth(bob), timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.aiter_lines()
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        sid = await share_to(api, ids["alice"], [bob], "Live one")
        ev = await next_event(lines)
        assert ev["event"] == "notification" and ev["data"]["share_id"] == sid
        assert time.monotonic() - t0 < 5
        last_id = ev["id"]

    # Disconnected: two more arrive; a reconnect with Last-Event-ID gets exactly those, in order.
    missed = [await share_to(api, ids["alice"], [bob], f"Missed {i}") for i in range(2)]

    async def stored():
        items = (await api.notify.get("/v1/notifications", headers=api.auth(bob))).json()["items"]
        return all(any(n["share_id"] == s for n in items) for s in missed)

    await eventually(stored)
    headers = {**api.auth(bob), "Last-Event-ID": last_id}
    async with api.notify.stream("GET", "/v1/notifications/stream", headers=headers, timeout=30) as r:
        lines = r.aiter_lines()
        got = [(await next_event(lines))["data"]["share_id"] for _ in missed]
    assert sorted(got) == sorted(missed)


async def test_stream_requires_a_token(api):
    r = await api.notify.get("/v1/notifications/stream")
    assert r.status_code == 401


async def test_unread_count_and_read_all(api, unique):
    ids = await directory(api, unique)
    carol = ids["carol"]
    for i in range(3):
        await share_to(api, ids["alice"], [carol], f"Unread {i}")

    async def three():
        r = await api.notify.get("/v1/notifications/unread-count", headers=api.auth(carol))
        assert r.status_code == 200
        return r.json()["unread"] == 3

    await eventually(three)
    r = await api.notify.post("/v1/notifications/read-all", headers=api.auth(carol))
    assert r.status_code == 200 and r.json()["marked_read"] == 3
    r = await api.notify.get("/v1/notifications/unread-count", headers=api.auth(carol))
    assert r.json()["unread"] == 0
    items = (await api.notify.get("/v1/notifications", params={"unread": "true"}, headers=api.auth(carol))).json()
    assert items["items"] == []


async def test_cursor_pages_are_stable_while_new_notifications_arrive(api, unique):
    ids = await directory(api, unique)
    erin = ids["erin"]
    first = [await share_to(api, ids["alice"], [erin], f"Page {i}") for i in range(5)]

    async def five():
        return len((await api.notify.get("/v1/notifications", headers=api.auth(erin))).json()["items"]) == 5

    await eventually(five)
    p1 = (await api.notify.get("/v1/notifications", params={"limit": 2}, headers=api.auth(erin))).json()
    newer = await share_to(api, ids["alice"], [erin], "Newer")

    async def six():
        return len((await api.notify.get("/v1/notifications", headers=api.auth(erin))).json()["items"]) == 6

    await eventually(six)
    seen = [n["share_id"] for n in p1["items"]]
    cursor = p1["next_cursor"]
    while cursor:
        page = (
            await api.notify.get("/v1/notifications", params={"limit": 2, "cursor": cursor}, headers=api.auth(erin))
        ).json()
        seen += [n["share_id"] for n in page["items"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(first) and newer not in seen  # no duplicates, no gaps
