"""Subscriber pages (topic → sorted user ids) against the real database: kept in step with users."""

from __future__ import annotations

import asyncio
import random

from learnloop_share.domain.directory import UserIn
from learnloop_share.storage.directory import Directory
from learnloop_share.storage.subscribers import PAGE_MAX, SubscriberPages


async def read(pages: SubscriberPages, key: str, after: str | None = None) -> list[str]:
    return [u for ids in [ids async for ids in pages.subscribers(key, after)] for u in ids]


async def test_pages_split_stay_sorted_and_follow_every_user_change(mongo, unique):
    db = mongo[f"pages_{unique}"]
    directory = Directory(db)
    await directory.ensure_indexes()
    ids = [f"u{i:05d}" for i in range(3 * PAGE_MAX)]
    shuffled = random.Random(7).sample(ids, len(ids))
    for i in range(0, len(shuffled), 1000):  # out of order, in bulk: pages split as they fill up
        await directory.put_users([(u, UserIn(name=u, topics=["kafka.streams"])) for u in shuffled[i : i + 1000]])
    pages = directory.subscribers
    assert await read(pages, "kafka.streams") == ids
    assert await pages.coll.count_documents({"key": "kafka.streams"}) > 2
    assert all(p["n"] <= PAGE_MAX for p in await pages.coll.find({"key": "kafka.streams"}).to_list())

    # Single changes: subscribe, unsubscribe, replace a user's topics.
    await directory.unsubscribe("u00010", "kafka.streams")
    await directory.subscribe("u00011", "python")
    await directory.put_user("u00012", UserIn(name="u12", topics=["python"]))
    await directory.subscribe("u00013", "kafka.streams")  # already subscribed: no change
    expected = [u for u in ids if u not in ("u00010", "u00012")]
    assert await read(pages, "kafka.streams") == expected
    assert await read(pages, "python") == ["u00011", "u00012"]
    assert await read(pages, "kafka.streams", after="u04000") == [u for u in expected if u > "u04000"]
    assert await read(pages, "kafka.streams", after="u00009") == [u for u in expected if u > "u00009"]

    # A rebuild from the user documents gives the same pages' content.
    before = {k: await read(pages, k) for k in ("kafka.streams", "python")}
    await pages.rebuild(directory.users)
    assert {k: await read(pages, k) for k in ("kafka.streams", "python")} == before

    # Emptying pages: the first one stays (empty), the others go.
    await pages.remove("kafka.streams", ids[:1500])
    assert await read(pages, "kafka.streams") == [u for u in expected if u >= ids[1500]]
    await pages.remove("kafka.streams", ids[1500:])
    assert await read(pages, "kafka.streams") == []
    assert await pages.coll.count_documents({"key": "kafka.streams"}) == 1


async def test_concurrent_subscriptions_to_one_topic_are_all_kept(mongo, unique):
    db = mongo[f"pages_{unique}"]
    directory = Directory(db)
    await directory.ensure_indexes()
    users = [f"c{i:03d}" for i in range(40)]
    await directory.put_users([(u, UserIn(name=u)) for u in users])
    await asyncio.gather(*(directory.subscribe(u, "rust") for u in users))
    assert await read(directory.subscribers, "rust") == users


async def test_a_database_from_before_pages_gets_them_built_once(mongo, unique):
    db = mongo[f"pages_{unique}"]
    await db["users"].insert_many(
        [{"_id": f"o{i:04d}", "name": "old", "topics": ["ops", "ops.*"] if i % 2 else ["ops"]} for i in range(2500)]
    )
    directory = Directory(db)
    await directory.ensure_indexes()
    assert await read(directory.subscribers, "ops") == [f"o{i:04d}" for i in range(2500)]
    assert await read(directory.subscribers, "ops.*") == [f"o{i:04d}" for i in range(1, 2500, 2)]
    await Directory(db).ensure_indexes()  # a second start does not rebuild
    assert (await db["meta"].find_one({"_id": "subscriber_pages.v1"}))["state"] == "built"
