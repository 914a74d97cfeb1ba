"""Reminder rounds against the real database and broker: runners racing for a round, a runner killed
mid-round and another resuming it, cancellation, retraction, overdue notices, re-confirmation and the
author's "remind now". Shares, buckets, progress and rounds are written in the shape the learn data
model gives them (the plan writer is not involved)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from learnloop_learn.jobs.rounds import RoundRunner
from learnloop_learn.storage.rounds import RoundStore
from learnloop_learn.usecases.reminding import Reminding, Retracted, RoundSettings, TooSoon
from learnloop_shared.events import LearningOverdue, LearningReminded, decode, utcnow
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.outbox import Outbox
from learnloop_shared.settings import ServiceSettings

from ..helpers import eventually, local_settings, read_all

TYPES: dict[str, Any] = {LearningReminded.event_type: LearningReminded, LearningOverdue.event_type: LearningOverdue}
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class Env:
    def __init__(self, db: Any, outbox: Outbox, topic: str, infra: Any) -> None:
        self.db, self.outbox, self.topic, self.infra = db, outbox, topic, infra
        self.store = RoundStore(db)

    def reminding(self, lease_s: float = 30.0, batch: int = 1000, store: RoundStore | None = None) -> Reminding:
        settings = RoundSettings(lease_s=lease_s, batch=batch, manual_interval_s=3600)
        return Reminding(store or self.store, self.outbox, self.topic, "/learnloop/learn", settings)

    def runner(self, lease_s: float = 30.0, batch: int = 1000, store: RoundStore | None = None) -> RoundRunner:
        return RoundRunner(store or self.store, self.reminding(lease_s, batch, store), lease_s)

    async def share(self, share_id: str, buckets: list[list[str]], **fields: Any) -> None:
        doc = {
            "_id": share_id,
            "author_id": "ann",
            "title": "Streams",
            "url": "https://example.com/s",
            "topics": ["kafka.streams"],
            "published_at": T0,
            "requires": "learned",
            "due_at": None,
            "revision": 1,
            "confirm_revision": 1,
            "revisions": [{"revision": 1, "at": T0, "reconfirm": True}],
            "status": "active",
            **fields,
        }
        await self.db["shares"].insert_one(doc)
        if buckets:
            await self.db["audience"].insert_many(
                [
                    {
                        "_id": f"{share_id}|o0:{i:04d}",
                        "share_id": share_id,
                        "delivered_at": T0,
                        "users": users,
                        "n": len(users),
                    }
                    for i, users in enumerate(buckets)
                ]
            )

    async def progress(self, share_id: str, last_completed: dict[str, int | None]) -> None:
        await self.db["progress"].insert_many(
            [
                {
                    "_id": f"{share_id}|{u}",
                    "share_id": share_id,
                    "user_id": u,
                    "acknowledged": ["learned"] if rev is not None else ["opened"],
                    "completed_revisions": [rev] if rev is not None else [],
                    "last_completed_revision": rev,
                    "completed_at": T0 if rev is not None else None,
                }
                for u, rev in last_completed.items()
            ]
        )

    async def round(self, share_id: str, step: str, reason: str, due: datetime | None = None, **fields: Any) -> str:
        rid = f"{share_id}|{step}"
        doc = {"_id": rid, "share_id": share_id, "reason": reason, "due": due or utcnow(), "revision": 1}
        await self.db["rounds"].insert_one({**doc, "state": "planned", **fields})
        return rid

    async def events(self, expect: int | None = None) -> list[Any]:
        records = await read_all(self.infra, self.topic, expect=expect, timeout_ms=20000)
        return [decode(r.value, TYPES) for r in records]


@pytest.fixture
async def env(infra, mongo, make_topics, unique):
    settings = local_settings(ServiceSettings, infra, service_name="learn", mongo_db=f"rounds_{unique}")
    topic = f"acks-{unique}"
    await make_topics(topic)
    publisher = Publisher(settings)
    await publisher.start()
    db = mongo[settings.mongo_db]
    outbox = Outbox(db, publisher)
    await outbox.ensure_indexes()
    e = Env(db, outbox, topic, infra)
    await e.store.ensure_indexes()
    yield e
    await outbox.close()
    await publisher.stop()


def audience(share_id: str, buckets: int, per_bucket: int) -> list[list[str]]:
    return [[f"u{b:03d}-{i:03d}" for i in range(per_bucket)] for b in range(buckets)]


async def run_until_done(env: Env, rid: str, runners: list[RoundRunner], timeout: float = 60) -> dict[str, Any]:
    async def loop(r: RoundRunner) -> None:
        while (await env.db["rounds"].find_one({"_id": rid}))["state"] not in ("done", "cancelled"):
            await r.run_once()
            await asyncio.sleep(0.01)

    await asyncio.wait_for(asyncio.gather(*(loop(r) for r in runners)), timeout)
    return await env.db["rounds"].find_one({"_id": rid})


def reminded_once(events: list[Any], rid: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for e in events:
        if isinstance(e.data, LearningReminded) and e.data.round_id == rid:
            counts.update(e.data.recipient_ids)
    return counts


async def test_runners_racing_for_a_round_remind_each_pending_recipient_exactly_once(env):
    buckets = audience("s1", 8, 40)
    users = [u for b in buckets for u in b]
    completed = {u: 1 for u in users[::7]}
    started_only = {u: None for u in users[3::11] if u not in completed}
    await env.share("s1", buckets)
    await env.progress("s1", {**completed, **started_only})
    rid = await env.round("s1", "s5", "scheduled", due=utcnow() - timedelta(seconds=1))
    # A lease shorter than a batch takes: the runners keep taking the round from each other mid-run.
    runners = [env.runner(lease_s=0.02, batch=25) for _ in range(3)]
    done = await run_until_done(env, rid, runners)

    pending = [u for u in users if u not in completed]
    counts = reminded_once(await env.events(), rid)
    assert set(counts) == set(pending)
    assert all(n == 1 for n in counts.values()), {u: n for u, n in counts.items() if n > 1}
    assert done["state"] == "done" and done["reminded"] == len(pending) and done["started_at"] is not None


class StallingStore(RoundStore):
    """A runner that hangs inside its ``stall_at``-th checkpoint transaction (after the update, before the
    commit): cancelling it there is a process killed mid-round."""

    def __init__(self, db: Any, stall_at: int) -> None:
        super().__init__(db)
        self.calls, self.stall_at = 0, stall_at
        self.stalled = asyncio.Event()

    async def checkpoint(self, *args: Any, **kwargs: Any) -> None:
        await super().checkpoint(*args, **kwargs)
        self.calls += 1
        if self.calls == self.stall_at:
            self.stalled.set()
            await asyncio.Event().wait()


async def test_a_runner_killed_mid_round_is_resumed_from_its_checkpoint_without_gaps_or_repeats(env):
    buckets = audience("s2", 6, 30)
    users = [u for b in buckets for u in b]
    completed = {u: 1 for u in users[::5]}
    await env.share("s2", buckets)
    await env.progress("s2", completed)
    rid = await env.round("s2", "s60", "scheduled", due=utcnow() - timedelta(seconds=1))

    stalling = StallingStore(env.db, stall_at=4)
    first = env.runner(lease_s=1.0, batch=20, store=stalling)
    task = asyncio.create_task(first.run_once())
    await asyncio.wait_for(stalling.stalled.wait(), 30)
    task.cancel()  # killed inside its 4th batch's transaction: that batch is not committed
    await asyncio.gather(task, return_exceptions=True)
    interrupted = await env.db["rounds"].find_one({"_id": rid})
    assert interrupted["state"] == "running" and interrupted["lease_owner"] == first.owner
    position = await env.db["round_checkpoints"].find_one({"_id": rid})
    assert position["after_bucket"] is not None and 0 < position["reminded"] < len(users)

    second = env.runner(lease_s=1.0, batch=20)
    done = await run_until_done(env, rid, [second])  # claims it once the first one's lease expired

    pending = [u for u in users if u not in completed]
    counts = reminded_once(await env.events(), rid)
    assert set(counts) == set(pending)
    assert all(n == 1 for n in counts.values()), {u: n for u, n in counts.items() if n > 1}
    assert done["state"] == "done" and done["reminded"] == len(pending)
    assert done["claims"] == 2 and done["started_at"] == interrupted["started_at"]


async def test_batches_whose_publish_failed_are_published_by_the_relay_and_the_round_goes_on(env, infra):
    """The broker is unreachable for the runner (its producer is closed): each batch is still committed
    with its checkpoint, and the outbox relay publishes them later — none lost, none twice."""
    buckets = audience("s11", 4, 25)
    users = [u for b in buckets for u in b]
    await env.share("s11", buckets)
    await env.progress("s11", {users[0]: 1})
    rid = await env.round("s11", "s30", "scheduled", due=utcnow() - timedelta(seconds=1))
    settings = local_settings(ServiceSettings, infra, service_name="learn")
    cut_off = Publisher(settings)
    await cut_off.start()
    await cut_off.stop()
    outbox = Outbox(env.db, cut_off)
    store = env.store
    runner = RoundRunner(store, Reminding(store, outbox, env.topic, "/l", RoundSettings(batch=10)), 30.0)
    assert await runner.run_once()
    assert (await env.db["rounds"].find_one({"_id": rid}))["state"] == "done"
    assert await env.db["outbox"].count_documents({"sent": False}) == 12  # 3 batches of ≤ 10 per bucket of 25
    assert await env.outbox.relay_once(older_than=timedelta(0)) == 12
    counts = reminded_once(await env.events(), rid)
    assert set(counts) == set(users[1:]) and set(counts.values()) == {1}


async def test_a_round_cancelled_while_running_stops_at_its_next_checkpoint(env):
    buckets = audience("s3", 5, 10)
    await env.share("s3", buckets)
    rid = await env.round("s3", "s10", "scheduled", due=utcnow() - timedelta(seconds=1))

    class CancelledMeanwhile(RoundStore):
        calls = 0

        async def checkpoint(self, *args: Any, **kwargs: Any) -> None:
            self.calls += 1
            if self.calls == 2:  # the plan side cancels the round (a retraction) between two batches
                await self.rounds.update_one({"_id": rid}, {"$set": {"state": "cancelled"}})
            await super().checkpoint(*args, **kwargs)

    runner = env.runner(store=CancelledMeanwhile(env.db))
    assert await runner.run_once()
    assert (await env.db["rounds"].find_one({"_id": rid}))["state"] == "cancelled"
    assert (await env.db["round_checkpoints"].find_one({"_id": rid}))["reminded"] == 10
    assert sum(reminded_once(await env.events(), rid).values()) == 10  # the first bucket only
    assert not await env.runner().run_once()  # nothing left to claim


async def test_retracted_shares_and_rounds_not_due_yet_send_nothing(env):
    await env.share("s4", audience("s4", 2, 5), status="retracted", retracted_at=T0)
    gone = await env.round("s4", "s1", "scheduled", due=utcnow() - timedelta(seconds=1))
    await env.share("s5", audience("s5", 2, 5))
    later = await env.round("s5", "s3600", "scheduled", due=utcnow() + timedelta(hours=1))
    runner = env.runner()
    assert await runner.run_once()
    assert not await runner.run_once()
    assert (await env.db["rounds"].find_one({"_id": gone}))["state"] == "cancelled"
    assert (await env.db["rounds"].find_one({"_id": later}))["state"] == "planned"
    assert await env.events() == []


async def test_overdue_notice_once_per_due_time_and_none_when_the_due_time_moved(env):
    due = (utcnow() - timedelta(seconds=2)).replace(microsecond=0)
    buckets = audience("s6", 2, 20)
    users = [u for b in buckets for u in b]
    await env.share("s6", buckets, due_at=due, requires="applied")
    await env.progress("s6", {**{u: 1 for u in users[:12]}, users[12]: None})
    rid = await env.round("s6", f"due@{due.isoformat()}", "overdue", due=due)
    moved = await env.round(
        "s6", f"due@{(due - timedelta(hours=1)).isoformat()}", "overdue", due=due - timedelta(hours=1)
    )
    runner = env.runner()
    while await runner.run_once():
        pass
    done = await env.db["rounds"].find_one({"_id": rid})
    assert (done["state"], done["recipients"], done["not_completed"]) == ("done", 40, 28)
    assert (await env.db["rounds"].find_one({"_id": moved}))["skipped"] == "due time changed"
    # Run again (a replay of the plan): the notice for this due time exists and is not sent twice.
    await env.db["rounds"].update_one({"_id": rid}, {"$set": {"state": "planned"}})
    assert await runner.run_once()
    events = await env.events()
    notices = [e for e in events if isinstance(e.data, LearningOverdue)]
    assert len(notices) == 1
    n = notices[0].data
    assert (n.share_id, n.recipients, n.not_completed, n.requires, n.due_at) == ("s6", 40, 28, "applied", due)


async def test_reconfirmation_asks_those_who_completed_in_the_cycle_the_revision_ends(env):
    revisions = [
        {"revision": 1, "at": T0, "reconfirm": True},
        {"revision": 2, "at": T0, "reconfirm": False},
        {"revision": 3, "at": T0, "reconfirm": True},
    ]
    await env.share("s7", audience("s7", 1, 8), revision=3, confirm_revision=3, revisions=revisions)
    users = audience("s7", 1, 8)[0]
    await env.progress("s7", {users[0]: 1, users[1]: 2, users[2]: 3, users[3]: None, users[4]: 1})
    rid = await env.round("s7", "r3", "revised", revision=3)
    await env.share("s8", audience("s8", 1, 3), revision=5, confirm_revision=5)
    await env.progress("s8", {"u000-000": 1})
    superseded = await env.round("s8", "r4", "revised", revision=4)
    runner = env.runner(batch=1)  # one recipient per event: several checkpoints
    assert await runner.run_due() == 2  # both due rounds in one pass of the job
    done = await env.db["rounds"].find_one({"_id": rid})
    assert done["state"] == "done" and done["reminded"] == 3
    events = [e.data for e in await env.events() if isinstance(e.data, LearningReminded)]
    assert all(e.reason == "revised" and e.revision == 3 for e in events)
    assert sorted(u for e in events for u in e.recipient_ids) == sorted([users[0], users[1], users[4]])
    assert (await env.db["rounds"].find_one({"_id": superseded}))["state"] == "cancelled"


async def test_remind_now_once_per_interval_reports_who_is_pending(env):
    buckets = audience("s9", 3, 10)
    users = [u for b in buckets for u in b]
    await env.share("s9", buckets)
    await env.progress("s9", {users[0]: 1, users[1]: None})
    reminding = env.reminding()
    share = await env.store.share("s9")
    assert await reminding.remind_now(share) == 29
    with pytest.raises(TooSoon) as refused:
        await reminding.remind_now(share)
    assert 3590 <= refused.value.retry_after_s <= 3600
    planned = await env.db["rounds"].find({"share_id": "s9", "reason": "manual"}).to_list()
    assert len(planned) == 1 and planned[0]["state"] == "planned"
    runner = env.runner()
    assert await runner.run_once()
    counts = reminded_once(await env.events(), planned[0]["_id"])
    assert sorted(counts) == sorted(users[1:]) and set(counts.values()) == {1}
    await env.db["shares"].update_one({"_id": "s9"}, {"$set": {"status": "retracted"}})
    with pytest.raises(Retracted):
        await reminding.remind_now(share)


async def test_two_authors_clicks_at_once_plan_one_manual_round(env):
    await env.share("s10", audience("s10", 1, 4))
    reminding = env.reminding()
    share = await env.store.share("s10")
    results = await asyncio.gather(*(reminding.remind_now(share) for _ in range(5)), return_exceptions=True)
    assert sum(1 for r in results if r == 4) == 1
    assert all(isinstance(r, TooSoon) for r in results if r != 4)

    async def one_round():
        return await env.db["rounds"].count_documents({"share_id": "s10"}) == 1

    await eventually(one_round, timeout=5)
