"""Audience resolution and fan-out against the real database and broker."""

from __future__ import annotations

import pytest
from learnloop_share.config import ShareSettings
from learnloop_share.domain.directory import TeamIn, UserIn
from learnloop_share.domain.shares import ShareDraft
from learnloop_share.storage.audience import MaterializedAudience
from learnloop_share.storage.directory import Directory
from learnloop_share.storage.shares import Shares
from learnloop_share.usecases.audience import AudienceResolver
from learnloop_share.usecases.fanout import FanOut
from learnloop_share.usecases.publishing import Dedup, IdempotencyConflict, ShareIntake
from learnloop_shared.events import decode
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.outbox import Outbox

from ..helpers import local_settings, read_all


class FailingAfter(Publisher):
    """A real publisher that dies after N batches, like a process killed mid fan-out."""

    def __init__(self, settings, batches: int) -> None:
        super().__init__(settings)
        self.left = batches

    async def enqueue(self, topic, items, headers=None):
        if self.left == 0:
            raise RuntimeError("killed")
        self.left -= 1
        acked = await super().enqueue(topic, items, headers)
        await acked  # the first batches reach the broker before the "crash"
        return acked


@pytest.fixture
async def share_env(infra, mongo, make_topics, unique):
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
    intake = ShareIntake(shares, directory, outbox, topics["shares"], "/test")
    yield settings, topics, directory, shares, audience, publisher, intake
    await publisher.stop()


async def seed(directory: Directory) -> None:
    for uid, topics in {
        "alice": [],
        "bob": ["kafka.*"],
        "carol": ["python"],
        "dave": ["kafka.streams"],
        "erin": [],
        "frank": ["go"],
        "gina": ["kafka.connect"],
    }.items():
        await directory.put_user(uid, UserIn(name=uid.title(), topics=topics))
    await directory.put_team("platform", TeamIn(name="Platform", members=["bob", "carol"], teams=["sre"]))
    await directory.put_team("sre", TeamIn(name="SRE", members=["erin", "alice"], teams=["platform"]))


async def test_audience_is_union_without_duplicates_or_author(share_env):
    settings, topics, directory, shares, audience, publisher, intake = share_env
    await seed(directory)
    draft = ShareDraft.model_validate(
        {
            "title": "Streams",
            "audience": {
                "users": ["dave", "ghost", "alice"],
                "teams": ["platform", "nope"],
                "topics": ["kafka.streams"],
            },
        }
    )
    accepted = await intake.accept(draft, "alice")
    assert accepted.created
    assert accepted.share.unknown_users == ["ghost"] and accepted.share.unknown_teams == ["nope"]
    fanout = FanOut(shares, AudienceResolver(directory, audience, 2), publisher, topics["deliveries"], "/test")
    await fanout.fan_out(accepted.share.id)

    doc = await shares.get(accepted.share.id)
    # platform ∪ sre (nested, cycle cut) = bob, carol, erin (alice is the author); dave named and subscribed;
    # bob also through kafka.*; gina subscribes to kafka.connect only.
    expected = {"bob", "carol", "erin", "dave"}
    assert doc["status"] == "delivered" and doc["audience_size"] == 4 and doc["delivered"] == 4
    records = await read_all(settings_infra(settings), topics["deliveries"], expect=4)
    events = [decode(r.value) for r in records]
    assert sorted(e.data.recipient_id for e in events) == sorted(expected)
    assert all(r.key.decode() == decode(r.value).data.recipient_id for r in records)


async def test_fanout_resumes_after_a_crash_without_skipping_anyone(share_env, infra):
    settings, topics, directory, shares, audience, publisher, intake = share_env
    for i in range(7):
        await directory.put_user(f"u{i}", UserIn(name=f"U{i}", topics=["python"]))
    accepted = await intake.accept(
        ShareDraft.model_validate({"title": "Py", "audience": {"topics": ["python"]}}), "author"
    )
    crashing = FailingAfter(settings, batches=2)
    await crashing.start()
    with pytest.raises(RuntimeError):
        await FanOut(shares, AudienceResolver(directory, audience, 3), crashing, topics["deliveries"], "/test").fan_out(
            accepted.share.id
        )
    await crashing.stop()
    mid = await shares.get(accepted.share.id)
    assert mid["status"] == "fanning_out" and mid["delivered"] == 6

    await FanOut(shares, AudienceResolver(directory, audience, 3), publisher, topics["deliveries"], "/test").fan_out(
        accepted.share.id
    )
    done = await shares.get(accepted.share.id)
    assert done["status"] == "delivered" and done["delivered"] == 7 and done["audience_size"] == 7
    records = await read_all(infra, topics["deliveries"], expect=7)
    recipients = [decode(r.value).data.recipient_id for r in records]
    assert sorted(recipients) == [f"u{i}" for i in range(7)]  # each exactly once: resumed after u5

    # A redelivered share.published does nothing more.
    await FanOut(shares, AudienceResolver(directory, audience, 3), publisher, topics["deliveries"], "/test").fan_out(
        accepted.share.id
    )
    assert len(await read_all(infra, topics["deliveries"], expect=8, timeout_ms=1500)) == 7


async def test_idempotency_key_returns_the_same_share(share_env, infra):
    settings, topics, directory, shares, audience, publisher, intake = share_env
    await directory.put_user("bob", UserIn(name="Bob"))
    draft = ShareDraft.model_validate({"title": "Once", "audience": {"users": ["bob"]}})
    first = await intake.accept(draft, "alice", Dedup(idempotency_key="k-1"))
    again = await intake.accept(draft, "alice", Dedup(idempotency_key="k-1"))
    assert first.created and not again.created and again.share.id == first.share.id
    other_author = await intake.accept(draft, "zoe", Dedup(idempotency_key="k-1"))
    assert other_author.share.id != first.share.id
    with pytest.raises(IdempotencyConflict):
        await intake.accept(
            ShareDraft.model_validate({"title": "Different", "audience": {"users": ["bob"]}}),
            "alice",
            Dedup(idempotency_key="k-1"),
        )
    records = await read_all(infra, topics["shares"], expect=3, timeout_ms=3000)
    assert len(records) == 2  # one share.published per created share, via the outbox
    assert {decode(r.value).data.share_id for r in records} == {first.share.id, other_author.share.id}


def settings_infra(settings):
    class _I:
        bootstrap = settings.kafka_bootstrap

    return _I()
