"""Directory events against the real database and broker. Republish: every user and team re-sent once with
its stored version, in batches with checkpoints; a runner killed mid-job is resumed by another from its
checkpoint without gaps or repeats; requests join a waiting job. Writes: concurrent PUTs of one user or
team each get their own version and event."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from learnloop_share.domain.directory import TeamIn, UserIn
from learnloop_share.jobs.republish import RepublishRunner
from learnloop_share.storage.directory import Directory
from learnloop_share.storage.republish import RepublishStore
from learnloop_share.usecases.republishing import Republishing
from learnloop_shared.events import DirectoryTeamChanged, DirectoryUserChanged, decode, utcnow
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.outbox import Outbox
from learnloop_shared.settings import ServiceSettings

from ..helpers import local_settings, read_all

SOURCE = "/learnloop/share"


class Env:
    def __init__(self, db: Any, outbox: Outbox, topic: str, infra: Any) -> None:
        self.db, self.outbox, self.topic, self.infra = db, outbox, topic, infra
        self.directory = Directory(db)
        self.store = RepublishStore(db)

    def runner(self, batch: int, lease_s: float = 30.0, store: RepublishStore | None = None) -> RepublishRunner:
        republishing = Republishing(store or self.store, self.outbox, self.topic, SOURCE, batch, lease_s)
        return RepublishRunner(store or self.store, republishing, lease_s)

    async def seed(self, users: int, legacy: int) -> None:
        """``users`` users written twice (version 2), ``legacy`` from before versions, and three teams."""
        ids = [f"u{i:04d}" for i in range(users)]
        for _ in range(2):
            await self.directory.put_users([(u, UserIn(name=f"Name {u}")) for u in ids])
        for i in range(legacy):
            await self.db["users"].insert_one({"_id": f"old{i}", "name": "Old", "topics": [], "updated_at": utcnow()})
        await self.directory.put_team("big", TeamIn(name="Big", members=[f"m{i:05d}" for i in range(4500)]))
        await self.directory.put_team("empty", TeamIn(name="Empty", managers=["boss"], teams=["big"]))
        legacy_team = {"_id": "legacy", "name": "Old team", "members": ["u0001"], "updated_at": utcnow()}
        await self.db["teams"].insert_one(legacy_team)

    async def events(self) -> list[Any]:
        return [decode(r.value) for r in await read_all(self.infra, self.topic, quiet_ms=1000)]


@pytest.fixture
async def env(infra, mongo, make_topics, unique):
    settings = local_settings(ServiceSettings, infra, service_name="share", mongo_db=f"republish_{unique}")
    topic = f"directory-{unique}"
    await make_topics(topic)
    publisher = Publisher(settings)
    await publisher.start()
    db = mongo[settings.mongo_db]
    outbox = Outbox(db, publisher)
    await outbox.ensure_indexes()
    e = Env(db, outbox, topic, infra)
    await e.directory.ensure_indexes()
    await e.store.ensure_indexes()
    yield e
    await outbox.close()
    await publisher.stop()


def sent_once(events: list[Any]) -> tuple[dict[str, int], Counter[tuple[str, int]]]:
    """User id → version sent, and how often each (team, part) was sent; asserts each user once."""
    users = Counter(e.data.user_id for e in events if isinstance(e.data, DirectoryUserChanged))
    assert all(n == 1 for n in users.values()), {u: n for u, n in users.items() if n > 1}
    versions = {e.data.user_id: e.data.version for e in events if isinstance(e.data, DirectoryUserChanged)}
    parts = Counter((e.data.team_id, e.data.part) for e in events if isinstance(e.data, DirectoryTeamChanged))
    return versions, parts


async def test_every_user_and_team_is_sent_once_with_its_stored_version(env):
    await env.seed(users=23, legacy=2)
    requested = await env.runner(batch=10)._republishing.request()
    assert (requested.users, requested.teams) == (25, 3)
    runner = env.runner(batch=10)
    assert await runner.run_due() == 1
    job = await env.store.job(requested.job_id)
    assert (job["state"], job["sent_users"], job["sent_teams"], job["claims"]) == ("done", 25, 3, 1)

    versions, parts = sent_once(await env.events())
    assert versions == {**{f"u{i:04d}": 2 for i in range(23)}, "old0": 1, "old1": 1}
    assert parts == Counter({("big", 0): 1, ("big", 1): 1, ("big", 2): 1, ("empty", 0): 1, ("legacy", 0): 1})
    # Documents from before versions now are version 1: their next change is 2, never another 1.
    assert (await env.db["users"].find_one({"_id": "old0"}))["version"] == 1
    assert (await env.directory.put_user("old0", UserIn(name="Renamed")))["version"] == 2
    assert (await env.db["teams"].find_one({"_id": "legacy"}))["version"] == 1
    assert await runner.run_due() == 0  # nothing waiting


class StallingStore(RepublishStore):
    """A runner that hangs inside its ``stall_at``-th checkpoint transaction (after the update, before the
    commit): cancelling it there is a process killed mid-job."""

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


async def test_a_runner_killed_mid_job_is_resumed_from_its_checkpoint_without_gaps_or_repeats(env):
    await env.seed(users=47, legacy=0)
    requested = await env.runner(batch=10)._republishing.request()
    stalling = StallingStore(env.db, stall_at=3)
    first = env.runner(batch=10, lease_s=1.0, store=stalling)
    task = asyncio.create_task(first.run_once())
    await asyncio.wait_for(stalling.stalled.wait(), 30)
    task.cancel()  # killed inside its 3rd batch's transaction: that batch is not committed
    await asyncio.gather(task, return_exceptions=True)
    interrupted = await env.store.job(requested.job_id)
    assert interrupted["state"] == "running" and interrupted["lease_owner"] == first.owner
    position = await env.db["directory_republish_checkpoints"].find_one({"_id": requested.job_id})
    assert (position["phase"], position["after"], position["sent_users"]) == ("users", "u0019", 20)

    second = env.runner(batch=10, lease_s=1.0)

    async def until_done() -> dict[str, Any]:
        while (job := await env.store.job(requested.job_id))["state"] != "done":
            await second.run_once()  # claims it once the first one's lease expired
            await asyncio.sleep(0.05)
        return job

    done = await asyncio.wait_for(until_done(), 60)
    assert (done["claims"], done["sent_users"], done["sent_teams"]) == (2, 47, 3)
    assert done["started_at"] == interrupted["started_at"]
    versions, parts = sent_once(await env.events())
    assert set(versions) == {f"u{i:04d}" for i in range(47)}
    assert set(parts.values()) == {1} and len(parts) == 5


async def test_a_request_joins_a_waiting_job_and_one_while_it_runs_starts_another(env):
    await env.seed(users=3, legacy=0)
    republishing = env.runner(batch=10)._republishing
    first, second = await republishing.request(), await republishing.request()
    assert second.job_id == first.job_id and second.joined and not first.joined
    claimed = await env.store.claim("runner-a", 30.0, utcnow())
    assert claimed is not None and claimed["_id"] == first.job_id and claimed["requests"] == 2
    third = await republishing.request()
    assert third.job_id != first.job_id and not third.joined
    assert await env.db["directory_republish"].count_documents({"state": "waiting"}) == 1


async def test_concurrent_writes_of_one_user_and_team_each_get_their_own_version_and_event(env):
    from learnloop_share.usecases.directory import DirectoryWrites

    writes = DirectoryWrites(env.directory, env.outbox, env.topic, SOURCE)
    await asyncio.gather(*(writes.put_user("racer", UserIn(name=f"Racer {i}")) for i in range(8)))
    await asyncio.gather(*(writes.put_team("crew", TeamIn(name=f"Crew {i}", members=["racer"])) for i in range(8)))

    events = await env.events()
    users = sorted(e.data.version for e in events if isinstance(e.data, DirectoryUserChanged))
    teams = sorted(e.data.version for e in events if isinstance(e.data, DirectoryTeamChanged))
    assert users == list(range(1, 9)) and teams == list(range(1, 9))
    stored = await env.db["users"].find_one({"_id": "racer"})
    [latest] = [e.data for e in events if isinstance(e.data, DirectoryUserChanged) and e.data.version == 8]
    assert stored["version"] == 8 and latest.name == stored["name"]  # the newest version is what is stored
