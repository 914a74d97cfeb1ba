"""Revisions, retraction and builds_on of shares against the real database and broker."""

from __future__ import annotations

import asyncio

import pytest
from learnloop_share.config import ShareSettings
from learnloop_share.domain.directory import UserIn
from learnloop_share.domain.shares import ShareDraft, SharePatch
from learnloop_share.storage.audience import MaterializedAudience
from learnloop_share.storage.directory import Directory
from learnloop_share.storage.shares import Shares
from learnloop_share.usecases.audience import AudienceResolver
from learnloop_share.usecases.fanout import FanOut
from learnloop_share.usecases.publishing import ShareIntake
from learnloop_share.usecases.revising import ShareIsRetracted, ShareRevisions
from learnloop_shared.events import decode, stable_event_id
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.outbox import Outbox

from ..helpers import local_settings, read_all


@pytest.fixture
async def env(infra, mongo, make_topics, unique):
    settings = local_settings(ShareSettings, infra, mongo_db=f"share_{unique}")
    topics = {"shares": f"shares-{unique}", "deliveries": f"deliveries-{unique}"}
    await make_topics(*topics.values())
    db = mongo[settings.mongo_db]
    directory, shares, audience = Directory(db), Shares(db), MaterializedAudience(db)
    for repo in (directory, shares, audience):
        await repo.ensure_indexes()
    publisher = Publisher(settings)
    await publisher.start()
    outbox = Outbox(db, publisher)
    await outbox.ensure_indexes()
    for user in ("alice", "bob", "carol"):
        await directory.put_user(user, UserIn(name=user.title()))
    env = type("Env", (), {})()
    env.settings, env.topics, env.db, env.infra = settings, topics, db, infra
    env.directory, env.shares, env.audience, env.publisher = directory, shares, audience, publisher
    env.intake = ShareIntake(shares, directory, outbox, topics["shares"], "/test")
    env.revisions = ShareRevisions(shares, outbox, topics["shares"], "/test")
    yield env
    await outbox.close()
    await publisher.stop()


def draft(title: str = "T", **kw) -> ShareDraft:
    return ShareDraft.model_validate({"title": title, "audience": {"users": ["bob"]}, **kw})


async def events_of(env, share_id: str) -> list:
    records = await read_all(env.infra, env.topics["shares"], timeout_ms=5000, quiet_ms=800)
    return [(r.key.decode(), decode(r.value)) for r in records if decode(r.value).subject == share_id]


async def test_concurrent_revisions_neither_lose_an_update_nor_reuse_a_number(env):
    share = (await env.intake.accept(draft(), "alice")).share
    n = 8
    results = await asyncio.gather(
        *(env.revisions.revise(share.id, SharePatch(title=f"T{i}", reconfirm=i % 2 == 0)) for i in range(n))
    )
    assert sorted(r.revision for r in results) == list(range(2, n + 2))
    doc = await env.shares.get(share.id)
    assert doc["revision"] == n + 1
    assert [r["revision"] for r in doc["revisions"]] == list(range(1, n + 2))
    last = next(r for r in results if r.revision == n + 1)
    assert doc["title"] == last.title

    events = await events_of(env, share.id)
    revised = [e for _, e in events if e.type == "io.learnloop.share.revised.v1"]
    assert sorted(e.data.revision for e in revised) == list(range(2, n + 2))
    for e in revised:
        assert e.id == stable_event_id("share.revised", share.id, str(e.data.revision))
        assert e.data.changed == ("title",) and e.data.published_at == share.created_at
    assert {e.data.title for e in revised} == {f"T{i}" for i in range(n)}


async def test_a_revision_sets_fields_and_carries_the_whole_share(env):
    share = (await env.intake.accept(draft(summary="S", reminders=["P1D"], requires="applied"), "alice")).share
    revised = await env.revisions.revise(
        share.id, SharePatch(summary=None, reminders=["PT4H", "PT3S"], topics=["Kafka"], reconfirm=False)
    )
    assert revised.revision == 2 and revised.summary is None and revised.reminders == ["PT3S", "PT4H"]
    assert revised.topics == ["kafka"] and revised.title == "T" and revised.requires == "applied"
    doc = await env.shares.get(share.id)
    assert doc["reminder_offsets_s"] == [3, 14400]
    [event] = [e for _, e in await events_of(env, share.id) if e.type == "io.learnloop.share.revised.v1"]
    assert event.data.changed == ("summary", "topics", "reminders") and event.data.reconfirm is False
    assert event.data.title == "T" and event.data.requires == "applied" and event.data.reminders == ("PT3S", "PT4H")


async def test_revisions_are_bounded(env, monkeypatch):
    from learnloop_share.usecases import revising

    monkeypatch.setattr(revising, "MAX_REVISIONS", 3)
    share = (await env.intake.accept(draft(), "alice")).share
    for title in ("2", "3"):
        await env.revisions.revise(share.id, SharePatch(title=title))
    with pytest.raises(revising.TooManyRevisions):
        await env.revisions.revise(share.id, SharePatch(title="4"))
    assert (await env.shares.get(share.id))["revision"] == 3


async def test_retraction_happens_once_and_ends_revisions(env):
    share = (await env.intake.accept(draft(), "alice")).share
    first, again = await asyncio.gather(env.revisions.retract(share.id), env.revisions.retract(share.id))
    assert first.status == again.status == "retracted" and first.retracted_at == again.retracted_at
    assert (await env.revisions.retract(share.id)).retracted_at == first.retracted_at
    with pytest.raises(ShareIsRetracted):
        await env.revisions.revise(share.id, SharePatch(title="late"))
    events = await events_of(env, share.id)
    retracted = [e for _, e in events if e.type == "io.learnloop.share.retracted.v1"]
    assert len(retracted) == 1 and retracted[0].id == stable_event_id("share.retracted", share.id)
    assert (await env.shares.get(share.id))["revision"] == 1


async def test_builds_on_keeps_known_shares_and_tells_other_authors(env):
    by_bob = (await env.intake.accept(draft("Bob's"), "bob")).share
    by_alice = (await env.intake.accept(draft("Alice's own"), "alice")).share
    gone = (await env.intake.accept(draft("Gone"), "carol")).share
    await env.revisions.retract(gone.id)
    new = (
        await env.intake.accept(draft("Builds", builds_on=[by_bob.id, "ghost", by_alice.id, gone.id]), "alice")
    ).share
    assert new.builds_on == [by_bob.id, by_alice.id] and new.unknown_builds_on == ["ghost", gone.id]

    [(key, built)] = [(k, e) for k, e in await events_of(env, by_bob.id) if e.type == "io.learnloop.share.built_on.v1"]
    assert key == by_bob.id and built.id == stable_event_id("share.built_on", by_bob.id, new.id)
    assert (built.data.author_id, built.data.title, built.data.by_share_id, built.data.by_author_id) == (
        "bob",
        "Bob's",
        new.id,
        "alice",
    )
    # Building on one's own share notifies nobody; a retracted one counts as unknown.
    for own in (by_alice.id, gone.id):
        assert not [e for _, e in await events_of(env, own) if e.type == "io.learnloop.share.built_on.v1"]
    [published] = [e for _, e in await events_of(env, new.id) if e.type == "io.learnloop.share.published.v1"]
    assert published.data.builds_on == (by_bob.id, by_alice.id)

    # derived: newest first, paged; a retracted derived share leaves the list
    second = (await env.intake.accept(draft("Also builds", builds_on=[by_bob.id]), "carol")).share
    page = await env.shares.derived(by_bob.id, None, 1 + 1)
    assert [d["_id"] for d in page] == [second.id, new.id]
    after = (page[0]["created_at"], page[0]["_id"])
    assert [d["_id"] for d in await env.shares.derived(by_bob.id, after, 10)] == [new.id]
    await env.revisions.retract(second.id)
    assert [d["_id"] for d in await env.shares.derived(by_bob.id, None, 10)] == [new.id]


class Meddling(Publisher):
    """A real publisher that revises, then retracts the share while the fan-out is sending its batches."""

    def __init__(self, settings, revisions: ShareRevisions, share_id: str, revise_at: int, retract_at: int) -> None:
        super().__init__(settings)
        self.revisions, self.share_id = revisions, share_id
        self.calls, self.revise_at, self.retract_at = 0, revise_at, retract_at

    async def enqueue(self, topic, items, headers=None):
        self.calls += 1
        if self.calls == self.revise_at:
            await self.revisions.revise(self.share_id, SharePatch(title="Revised", due_at="2999-01-01T00:00:00Z"))
        if self.calls == self.retract_at:
            await self.revisions.retract(self.share_id)
        return await super().enqueue(topic, items, headers)


async def test_a_running_fanout_stops_when_its_share_is_retracted(env):
    users = [f"u{i:02d}" for i in range(20)]
    for u in users:
        await env.directory.put_user(u, UserIn(name=u, topics=["python"]))
    # users + topics: a materialized audience, which the retraction handler clears
    accepted = await env.intake.accept(
        ShareDraft.model_validate({"title": "Py", "audience": {"users": ["u00"], "topics": ["python"]}}), "author"
    )
    sid = accepted.share.id
    meddling = Meddling(env.settings, env.revisions, sid, revise_at=2, retract_at=4)
    await meddling.start()
    try:
        fanout = FanOut(
            env.shares, AudienceResolver(env.directory, env.audience, 2), meddling, env.topics["deliveries"], "/t", 0
        )
        await fanout.fan_out(sid)
    finally:
        await meddling.stop()

    doc = await env.shares.get(sid)
    assert doc["status"] == "retracted" and doc["fanout"]["stopped_at"] is not None
    assert doc["delivered"] == 8  # the batches sent before the fan-out read the retraction
    records = await read_all(env.infra, env.topics["deliveries"], expect=8, timeout_ms=5000)
    deliveries = sorted((decode(r.value).data for r in records), key=lambda d: d.recipient_id)
    assert [d.recipient_id for d in deliveries] == users[:8]
    # Deliveries carry the share as it is when their batch is sent.
    assert [d.revision for d in deliveries] == [1] * 4 + [2] * 4
    assert {d.title for d in deliveries[4:]} == {"Revised"} and deliveries[4].due_at is not None

    again = FanOut(
        env.shares, AudienceResolver(env.directory, env.audience, 2), env.publisher, env.topics["deliveries"], "/t"
    )
    await again.fan_out(sid)  # share.published redelivered
    await again.redrive(sid)
    assert sid not in await env.shares.fanouts_since(accepted.share.created_at)
    assert (await env.shares.get(sid))["status"] == "retracted"
    assert await env.audience.size(sid) > 0
    await again.retracted(sid)  # share.retracted consumed
    assert await env.audience.size(sid) == 0
    assert len(await read_all(env.infra, env.topics["deliveries"], expect=9, timeout_ms=1500)) == 8


async def test_a_retracted_share_is_never_fanned_out(env):
    share = (await env.intake.accept(draft(), "alice")).share
    await env.revisions.retract(share.id)
    fanout = FanOut(
        env.shares, AudienceResolver(env.directory, env.audience, 2), env.publisher, env.topics["deliveries"], "/t"
    )
    await fanout.fan_out(share.id)
    doc = await env.shares.get(share.id)
    assert doc["status"] == "retracted" and doc["delivered"] == 0
    assert await read_all(env.infra, env.topics["deliveries"], timeout_ms=1500, quiet_ms=500) == []
