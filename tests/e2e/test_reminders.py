"""Reminders, overdue notices and "remind now" over HTTP, with reminder steps and due dates seconds apart;
and a learn process killed while it runs a reminder round: every pending recipient is still reminded
exactly once.

These need the whole of issue 12: share's new fields and DELETE, learn's round plan (written from the
share events) and notify's reminder/overdue notifications.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from learnloop_shared.events import LearningReminded, decode
from learnloop_shared.events.codec import decode_raw
from learnloop_shared.local.servers import free_port
from learnloop_shared.settings import Topics
from pymongo import AsyncMongoClient

from ..helpers import eventually, read_all, seed_subscribers
from .test_loop import inbox


async def people(api: Any, unique: str, n: int) -> tuple[str, list[str]]:
    admin = api.auth("admin", "directory:write")
    author, recipients = f"author-{unique}", [f"r{i}-{unique}" for i in range(n)]
    for user in (author, *recipients):
        r = await api.share.put(f"/v1/users/{user}", json={"name": user}, headers=admin)
        assert r.status_code == 200, r.text
    return author, recipients


async def publish(api: Any, author: str, body: dict[str, Any]) -> str:
    r = await api.share.post("/v1/shares", json=body, headers=api.auth(author))
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def acknowledge(api: Any, share_id: str, user: str, kind: str) -> None:
    async def recorded() -> bool:  # learn may store the delivery a moment after the POST returned
        r = await api.learn.post(f"/v1/shares/{share_id}/acknowledgements", json={"kind": kind}, headers=api.auth(user))
        assert r.status_code in (201, 404), r.text
        return r.status_code == 201

    await eventually(recorded, timeout=30)


async def notes(api: Any, user: str, share_id: str, kind: str) -> list[dict[str, Any]]:
    return [n for n in (await inbox(api, user, limit=200))["items"] if n["share_id"] == share_id and n["kind"] == kind]


def rfc3339(seconds_from_now: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).isoformat()


async def test_a_scheduled_reminder_reaches_each_recipient_who_has_not_completed_once_then_the_author_hears(
    api, unique
):
    author, r = await people(api, unique, 3)
    title = f"Remind me {unique}"
    body = {"title": title, "audience": {"users": r}, "reminders": ["PT6S"], "due_at": rfc3339(12)}
    sid = await publish(api, author, body)
    await acknowledge(api, sid, r[0], "learned")  # completes before the step runs

    async def overdue_sent() -> list[dict[str, Any]]:
        return await notes(api, author, sid, "overdue")

    overdue = await eventually(overdue_sent, timeout=60)  # the due time comes after the reminder step
    assert len(overdue) == 1 and "2 of 3" in overdue[0]["text"] and title in overdue[0]["text"], overdue
    for user, expected in ((r[0], 0), (r[1], 1), (r[2], 1)):
        got = await notes(api, user, sid, "reminder")
        assert len(got) == expected, (user, got)
    reminder = (await notes(api, r[1], sid, "reminder"))[0]
    assert title in reminder["text"] and "due" in reminder["text"]


async def test_the_author_reminds_everyone_pending_now_at_most_once_an_hour(api, unique):
    author, r = await people(api, unique, 3)
    sid = await publish(api, author, {"title": f"Now {unique}", "audience": {"users": r}})
    await acknowledge(api, sid, r[0], "applied")
    await acknowledge(api, sid, r[1], "opened")  # not completed: "learned" is required by default

    path = f"/v1/shares/{sid}/reminders"
    assert (await api.learn.post(path, headers=api.auth(r[1]))).status_code == 404
    first = await api.learn.post(path, headers=api.auth(author))
    assert first.status_code == 202 and first.json() == {"pending": 2}, first.text
    again = await api.learn.post(path, headers=api.auth(author))
    assert again.status_code == 429 and again.headers["content-type"] == "application/problem+json"
    assert 0 < int(again.headers["retry-after"]) <= 3600

    async def reminded() -> bool:
        got = {u: await notes(api, u, sid, "reminder") for u in r}
        assert len(got[r[1]]) <= 1 and len(got[r[2]]) <= 1 and got[r[0]] == [], got
        return len(got[r[1]]) == len(got[r[2]]) == 1

    await eventually(reminded, timeout=30)


async def test_a_retracted_share_gets_no_more_reminders(api, stack, unique):
    author, r = await people(api, unique, 2)
    sid = await publish(api, author, {"title": f"Gone {unique}", "audience": {"users": r}, "reminders": ["PT5S"]})
    await acknowledge(api, sid, r[0], "opened")
    assert (await api.share.delete(f"/v1/shares/{sid}", headers=api.auth(author))).status_code == 200

    async def retraction_known() -> bool:  # acknowledgements are refused once learn has the retraction
        ack = {"kind": "learned"}
        r2 = await api.learn.post(f"/v1/shares/{sid}/acknowledgements", json=ack, headers=api.auth(r[0]))
        assert r2.status_code in (201, 410), r2.text
        return r2.status_code == 410

    await eventually(retraction_known, timeout=30)
    refused = await api.learn.post(f"/v1/shares/{sid}/reminders", headers=api.auth(author))
    assert refused.status_code == 410 and refused.headers["content-type"] == "application/problem+json"
    learn_db = AsyncMongoClient(stack.infra.mongo_url_for("learn"), tz_aware=True)["e2e_learn"]

    async def step_cancelled() -> bool:
        step = await learn_db["rounds"].find_one({"_id": f"{sid}|s5"})
        return step is not None and step["state"] == "cancelled"

    await eventually(step_cancelled, timeout=30)
    assert await notes(api, r[1], sid, "reminder") == []


def owner_pid(owner: str) -> int:
    """``lease_owner`` is ``host:pid:random`` (see ``learnloop_learn.jobs.rounds.runner_id``)."""
    return int(owner.rsplit(":", 2)[1])


class Audience:
    """``n`` subscribers of a topic of their own, and the databases a test looks into."""

    def __init__(self, stack: Any, unique: str, n: int) -> None:
        self.stack, self.n, self.topic = stack, n, f"rk{unique}"
        self.learn_db = AsyncMongoClient(stack.infra.mongo_url_for("learn"), tz_aware=True)["e2e_learn"]
        self.notify_db = AsyncMongoClient(stack.infra.mongo_url_for("notify"), tz_aware=True)["e2e_notify"]
        self.completed = [f"{self.topic}-{i:04d}" for i in (0, n // 2, n - 1)]

    async def seed(self) -> None:
        await seed_subscribers(self.stack.infra.mongo_url_for("share"), "e2e_share", self.topic, self.n, width=4)

    async def learn_has_all(self, share_id: str) -> None:
        async def all_stored() -> bool:
            pipeline = [
                {"$match": {"_id": {"$gt": f"{share_id}|", "$lt": f"{share_id}}}"}}},
                {"$group": {"_id": None, "n": {"$sum": "$n"}}},
            ]
            rows = await (await self.learn_db["audience"].aggregate(pipeline)).to_list()
            return bool(rows) and rows[0]["n"] == self.n

        await eventually(all_stored, timeout=60)


async def kill_the_runner_mid_round(api: Any, stack: Any, aud: Audience, round_id: str, extra: Any) -> dict[str, Any]:
    """Wait until the round is under way, SIGKILL the process holding it (the extra worker, or the stack's
    learn process, which is then restarted), and wait for another to finish it. Returns the done round."""
    rounds, checkpoints = aud.learn_db["rounds"], aud.learn_db["round_checkpoints"]
    running: dict[str, Any] = {}
    for _ in range(6000):
        doc = await rounds.find_one({"_id": round_id})
        if doc and doc["state"] == "running" and (await checkpoints.find_one({"_id": round_id}) or {}).get("reminded"):
            running = doc
            break
        await asyncio.sleep(0.01)
    assert running, "the round never ran"
    pid = owner_pid(running["lease_owner"])
    assert pid in (extra.pid, stack.processes["learn"].pid), running["lease_owner"]
    victim = extra if pid == extra.pid else stack.processes["learn"]
    victim.signal(signal.SIGKILL)
    interrupted = await rounds.find_one({"_id": round_id})
    position = await checkpoints.find_one({"_id": round_id})
    assert interrupted["state"] == "running" and position["reminded"] < aud.n - len(aud.completed), (
        f"the round was not interrupted ({interrupted}, {position})"
    )
    if victim is not extra:
        await asyncio.to_thread(stack.restart_service, "learn")
        await asyncio.to_thread(stack.wait_ready, "learn", 60)

    async def round_done() -> dict[str, Any]:
        doc = await rounds.find_one({"_id": round_id})
        assert doc is not None and doc["state"] == "done", (victim.name, victim is extra, doc)
        return doc

    # Killed inside a checkpoint transaction, the runner leaves it open until the database aborts it
    # (transaction lifetime, 60 s): the next runner resumes after that at the latest.
    done = await eventually(round_done, timeout=150)
    assert done["claims"] >= 2 and done["reminded"] == aud.n - len(aud.completed), done
    return done


async def start_extra_worker(stack: Any) -> Any:
    """A second learn worker: either it or the stack's learn process runs a round."""
    port = free_port()
    extra = stack.service_process("learn", role="worker")
    assert extra.env is not None
    extra.env["LEARNLOOP_HTTP_PORT"] = str(port)
    extra.start()

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient() as c:
                return (await c.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(ready, timeout=60)
    return extra


async def test_killing_the_process_running_a_reminder_round_mid_run_still_reminds_each_pending_recipient_once(
    api, stack, unique
):
    aud = Audience(stack, unique, 1500)  # 50 recipients per round checkpoint in tests: 30 checkpoints
    await aud.seed()
    author = f"author-{unique}"
    admin = api.auth("admin", "directory:write")
    assert (await api.share.put(f"/v1/users/{author}", json={"name": "A"}, headers=admin)).status_code == 200
    extra = await start_extra_worker(stack)
    try:
        body = {"title": f"Kill {unique}", "audience": {"topics": [aud.topic]}, "reminders": ["PT12S"]}
        sid = await publish(api, author, body)
        for user in aud.completed:
            await acknowledge(api, sid, user, "learned")
        await aud.learn_has_all(sid)
        round_id = f"{sid}|s12"
        assert (await aud.learn_db["rounds"].find_one({"_id": round_id}) or {}).get("state") in (None, "planned")
        await kill_the_runner_mid_round(api, stack, aud, round_id, extra)
    finally:
        extra.stop(timeout=5)

    async def each_pending_once() -> bool:
        pipeline = [
            {"$match": {"share_id": sid, "kind": "reminder"}},
            {"$group": {"_id": "$user_id", "n": {"$sum": 1}}},
        ]
        rows = await (await aud.notify_db["notifications"].aggregate(pipeline)).to_list()
        assert all(row["n"] == 1 for row in rows), [row for row in rows if row["n"] != 1][:5]
        assert not {row["_id"] for row in rows} & set(aud.completed)
        return len(rows) == aud.n - len(aud.completed)

    await eventually(each_pending_once, timeout=90)


async def test_killing_the_process_running_a_manual_round_mid_run_emits_each_pending_recipient_once(api, stack, unique):
    """The same on learn's side alone: the author's "remind now" round, and the events on the topic."""
    aud = Audience(stack, unique, 1500)
    await aud.seed()
    author = f"author-{unique}"
    admin = api.auth("admin", "directory:write")
    assert (await api.share.put(f"/v1/users/{author}", json={"name": "A"}, headers=admin)).status_code == 200
    extra = await start_extra_worker(stack)
    try:
        sid = await publish(api, author, {"title": f"Kill now {unique}", "audience": {"topics": [aud.topic]}})
        for user in aud.completed:
            await acknowledge(api, sid, user, "learned")
        await aud.learn_has_all(sid)
        r = await api.learn.post(f"/v1/shares/{sid}/reminders", headers=api.auth(author))
        assert r.status_code == 202 and r.json() == {"pending": aud.n - len(aud.completed)}, r.text
        manual = await aud.learn_db["rounds"].find_one({"share_id": sid, "reason": "manual"})
        await kill_the_runner_mid_round(api, stack, aud, manual["_id"], extra)
    finally:
        extra.stop(timeout=5)

    # The same event may be on the topic twice (published, then the process died before marking it sent:
    # the outbox relay sends it again; consumers deduplicate by event id). Each distinct event counts once.
    records = await read_all(stack.infra, Topics().acknowledgements, timeout_ms=30000, quiet_ms=3000)
    events: dict[str, LearningReminded] = {}
    for record in records:
        if decode_raw(record.value).type != LearningReminded.event_type:
            continue
        event = decode(record.value, {LearningReminded.event_type: LearningReminded})
        if event.data.round_id == manual["_id"]:
            assert events.setdefault(event.id, event.data) == event.data
    counts = Counter(u for data in events.values() for u in data.recipient_ids)
    assert set(counts) == {f"{aud.topic}-{i:04d}" for i in range(aud.n)} - set(aud.completed)
    assert set(counts.values()) == {1}, [u for u, k in counts.items() if k > 1][:5]
