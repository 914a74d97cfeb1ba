"""Killing the share service mid fan-out: on restart it resumes where it stopped."""

from __future__ import annotations

import asyncio
import signal

from pymongo import AsyncMongoClient

from ..helpers import eventually, seed_subscribers


async def test_share_killed_mid_fanout_resumes_without_gaps_or_duplicates(api, stack, unique):
    n = 2000  # fan-out batches of 50 in tests: 40 checkpoints
    topic = f"r{unique}"
    share_db = AsyncMongoClient(stack.infra.mongo_url_for("share"))["e2e_share"]
    await seed_subscribers(stack.infra.mongo_url_for("share"), "e2e_share", topic, n, width=5)
    author = api.auth(f"author-{unique}")
    r = await api.share.post("/v1/shares", json={"title": "Resume me", "audience": {"topics": [topic]}}, headers=author)
    sid = r.json()["id"]

    # Kill the share process (API and fan-out worker) as soon as the fan-out is under way.
    for _ in range(400):
        doc = await share_db["shares"].find_one({"_id": sid})
        if doc and 0 < doc.get("delivered", 0) < n:
            break
        await asyncio.sleep(0.01)
    stack.processes["share"].signal(signal.SIGKILL)
    stack.processes["share"].stop(timeout=5)
    killed_at = (await share_db["shares"].find_one({"_id": sid}))["delivered"]
    assert 0 < killed_at < n, f"the fan-out was not interrupted (delivered {killed_at} of {n})"

    restarted = stack.service_process("share")
    stack.processes["share"] = restarted
    restarted.start()
    await asyncio.to_thread(stack.wait_ready, "share", 60)

    async def delivered():
        r = await api.share.get(f"/v1/shares/{sid}", headers=author)
        return r.json()["status"] == "delivered" and r.json()

    done = await eventually(delivered, timeout=60)
    assert done["delivered"] == n and done["audience_size"] == n

    notify_db = AsyncMongoClient(stack.infra.mongo_url_for("notify"))["e2e_notify"]

    async def each_once():
        rows = await (
            await notify_db["notifications"].aggregate(
                [{"$match": {"share_id": sid}}, {"$group": {"_id": "$user_id", "n": {"$sum": 1}}}]
            )
        ).to_list()
        assert all(r["n"] == 1 for r in rows)
        return len(rows) == n

    await eventually(each_once, timeout=60)
