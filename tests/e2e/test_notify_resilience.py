"""Preferences, and no lost or duplicate notification/digest when a notify worker dies mid-stream."""

from __future__ import annotations

import signal

from learnloop_shared.local.servers import free_port
from pymongo import AsyncMongoClient

from ..helpers import eventually, seed_subscribers
from .test_loop import directory, inbox


async def test_muted_topics_are_kept_but_hidden(api, unique):
    ids = await directory(api, unique)
    bob = ids["bob"]
    r = await api.notify.put(
        "/v1/me/preferences",
        headers=api.auth(bob),
        json={
            "muted_topics": [f"m{unique}.*"],
            "digest_window_s": 60,
            "channels": {"inbox": {"share.delivered": True, "feedback": False}},
            "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"},
        },
    )
    assert r.status_code == 200, r.text
    prefs = (await api.notify.get("/v1/me/preferences", headers=api.auth(bob))).json()
    assert prefs["muted_topics"] == [f"m{unique}.*"] and prefs["quiet_hours"]["timezone"] == "Europe/Berlin"
    assert prefs["channels"]["inbox"]["feedback"] is False
    r = await api.notify.put("/v1/me/preferences", headers=api.auth(bob), json={"quiet_hours": {"start": "x"}})
    assert r.status_code == 422

    muted = await api.share.post(
        "/v1/shares",
        headers=api.auth(ids["alice"]),
        json={"title": "Muted", "topics": [f"m{unique}.streams"], "audience": {"users": [bob]}},
    )
    loud = await api.share.post(
        "/v1/shares",
        headers=api.auth(ids["alice"]),
        json={"title": "Loud", "topics": ["other"], "audience": {"users": [bob]}},
    )
    muted_id, loud_id = muted.json()["id"], loud.json()["id"]

    async def both_stored():
        everything = (await inbox(api, bob, include_muted="true"))["items"]
        return {muted_id, loud_id} <= {n["share_id"] for n in everything}

    await eventually(both_stored)
    visible = {n["share_id"] for n in (await inbox(api, bob))["items"]}
    assert loud_id in visible and muted_id not in visible
    count = (await api.notify.get("/v1/notifications/unread-count", headers=api.auth(bob))).json()["unread"]
    assert count == len(visible)


async def test_killed_notify_worker_loses_and_duplicates_nothing(api, stack, unique):
    """A second notify worker joins the group, is killed with SIGKILL mid-stream; every recipient still
    gets exactly one notification and the author exactly one digest with every acknowledgement counted."""
    n = 300
    admin = api.auth("admin", "directory:write")
    topic = f"k{unique}"
    await seed_subscribers(stack.infra.mongo_url_for("share"), "e2e_share", topic, n, width=4)
    assert (await api.share.put(f"/v1/users/author-{unique}", json={"name": "A"}, headers=admin)).status_code == 200

    extra_port = free_port()
    extra = stack.service_process("notify", role="worker")
    assert extra.env is not None
    extra.env["LEARNLOOP_HTTP_PORT"] = str(extra_port)
    extra.start()
    try:
        import httpx

        async def extra_ready():
            try:
                async with httpx.AsyncClient() as c:
                    return (await c.get(f"http://127.0.0.1:{extra_port}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(extra_ready, timeout=30)
        r = await api.share.post(
            "/v1/shares",
            headers=api.auth(f"author-{unique}"),
            json={"title": "Kill test", "audience": {"topics": [topic]}},
        )
        sid = r.json()["id"]
        recipients = [f"{topic}-{i:04d}" for i in (0, 1, 2)]

        async def first_arrived():
            return any(n["share_id"] == sid for n in (await inbox(api, recipients[0]))["items"])

        await eventually(first_arrived, timeout=20)
        for who in recipients:  # acknowledgements that will be in flight when the worker dies

            async def recorded(who=who):  # learn may store the delivery a moment after notify does
                r = await api.learn.post(
                    f"/v1/shares/{sid}/acknowledgements", json={"kind": "opened"}, headers=api.auth(who)
                )
                assert r.status_code in (201, 404), r.text
                return r.status_code == 201

            await eventually(recorded, timeout=20)
        extra.signal(signal.SIGKILL)
    finally:
        extra.stop(timeout=5)

    notify_db = AsyncMongoClient(stack.infra.mongo_url_for("notify"))["e2e_notify"]

    async def all_once():
        pipeline = [
            {"$match": {"share_id": sid, "kind": "share.delivered"}},
            {"$group": {"_id": "$user_id", "n": {"$sum": 1}}},
        ]
        rows = await (await notify_db["notifications"].aggregate(pipeline)).to_list()
        assert all(r["n"] == 1 for r in rows), [r for r in rows if r["n"] != 1]
        return len(rows) == n

    await eventually(all_once, timeout=60)

    def opened(items):
        import re

        return sum(int(m.group(1)) for x in items for m in [re.search(r"(\d+) opened", x["text"])] if m)

    # However many digest windows the acknowledgements fell into: every window's bucket is sent once,
    # each sent bucket is exactly one digest, and the digests count each acknowledgement once.
    async def every_window_sent():
        buckets = await notify_db["digests"].find({"share_id": sid}).to_list()
        counted = [e for b in buckets for e in b.get("event_ids", [])]
        assert len(counted) == len(set(counted)) == 3, counted
        return buckets if all(b.get("sent") for b in buckets) else None

    buckets = await eventually(every_window_sent, timeout=60)
    digests = await notify_db["notifications"].find({"share_id": sid, "feedback_kind": "digest"}).to_list()
    assert len(digests) == len(buckets), [d["text"] for d in digests]
    assert opened(digests) == 3, [d["text"] for d in digests]
