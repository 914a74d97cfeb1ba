"""The outbox's unit of work against the real database and broker: commit, then publish; a duplicate
is reported and leaves nothing behind; any other error stores and publishes nothing."""

from __future__ import annotations

import pytest
from learnloop_shared.events import ShareDelivered, decode, make_event, utcnow
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.outbox import Outbox
from learnloop_shared.settings import ServiceSettings

from ..helpers import local_settings, read_all


def an_event(share_id: str):  # type: ignore[no-untyped-def]
    data = ShareDelivered(share_id=share_id, recipient_id="u1", author_id="a", title="t", published_at=utcnow())
    return make_event(data, source="/test", subject=share_id)


@pytest.fixture
async def env(infra, mongo, make_topics, unique):
    settings = local_settings(ServiceSettings, infra, service_name="test", mongo_db=f"outbox_{unique}")
    topic = f"outbox-{unique}"
    await make_topics(topic)
    db = mongo[settings.mongo_db]
    await db["things"].create_index("name", unique=True)
    publisher = Publisher(settings)
    await publisher.start()
    outbox = Outbox(db, publisher)
    await outbox.ensure_indexes()
    yield db, outbox, topic
    await outbox.close()
    await publisher.stop()


async def test_commits_then_publishes(env, infra):
    db, outbox, topic = env
    async with outbox.transaction() as tx:
        await db["things"].insert_one({"_id": "1", "name": "one"}, session=tx.session)
        tx.emit(topic, "s1", an_event("s1"))
    assert not tx.duplicate
    assert await db["things"].count_documents({}) == 1
    await outbox.close()  # entries are marked sent together, shortly after the broker has them
    assert await db["outbox"].count_documents({"sent": True}) == 1
    records = await read_all(infra, topic, expect=1)
    assert [decode(r.value, {ShareDelivered.event_type: ShareDelivered}).data.share_id for r in records] == ["s1"]


async def test_duplicate_is_reported_and_nothing_is_stored(env, infra):
    db, outbox, topic = env
    await db["things"].insert_one({"_id": "0", "name": "taken"})
    async with outbox.transaction() as tx:
        tx.emit(topic, "s2", an_event("s2"))
        await db["things"].insert_one({"_id": "2", "name": "taken"}, session=tx.session)
    assert tx.duplicate
    assert await db["things"].count_documents({}) == 1
    assert await db["outbox"].count_documents({}) == 0
    assert await read_all(infra, topic, timeout_ms=2000, quiet_ms=500) == []


async def test_an_event_stored_before_is_a_duplicate_and_nothing_is_stored(env, infra):
    """Events with stable ids (one per fact): the second unit of work emitting the same one stores nothing."""
    db, outbox, topic = env
    event = an_event("s4")
    async with outbox.transaction() as tx:
        tx.emit(topic, "s4", event)
    assert not tx.duplicate
    async with outbox.transaction() as tx:
        await db["things"].insert_one({"_id": "4", "name": "four"}, session=tx.session)
        tx.emit(topic, "s4", event)
    assert tx.duplicate
    assert await db["things"].count_documents({}) == 0
    assert await db["outbox"].count_documents({}) == 1


async def test_other_errors_abort_and_propagate(env, infra):
    db, outbox, topic = env
    with pytest.raises(ValueError):
        async with outbox.transaction() as tx:
            await db["things"].insert_one({"_id": "3", "name": "three"}, session=tx.session)
            tx.emit(topic, "s3", an_event("s3"))
            raise ValueError("the use case failed")
    assert await db["things"].count_documents({}) == 0
    assert await db["outbox"].count_documents({}) == 0
