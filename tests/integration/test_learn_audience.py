"""Learn's recipient buckets and learning lists against the real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from learnloop_learn.domain.audience import Bucket, Delivered, buckets_of
from learnloop_learn.storage.learning import SHARE_TTL_S, LearningStore
from learnloop_learn.storage.migrations import adopt_completed_progress, adopt_legacy_recipients
from learnloop_shared.mongo import in_transaction

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


async def test_each_recipient_is_stored_once_per_share_however_batches_overlap(mongo, unique):
    store = LearningStore(mongo[f"learn_{unique}"])
    await store.ensure_indexes()
    first = buckets_of([Delivered("s1", f"u{i}", T0, 0, i) for i in range(6)])
    assert await store.add_recipients(first) == 6
    assert await store.add_recipients(first) == 0  # the same batch consumed again
    # Consumed again with other boundaries, plus a delivery sent twice and a new recipient:
    overlap = buckets_of([Delivered("s1", u, T0, 0, 4 + i) for i, u in enumerate(["u4", "u5", "u2", "u6"])])
    other_share = Bucket("s2|o0:0", "s2", T0 + timedelta(minutes=1), ("u1", "u9"))
    assert await store.add_recipients([*overlap, other_share]) == 3  # u6, and both of s2
    assert await store.recipient_count("s1") == 7
    assert await store.recipient_count("s2") == 2
    assert await store.recipient_count("s") == 0  # ids are matched on the whole share id
    share = {"_id": "s1", "published_at": T0}
    assert await store.is_recipient(share, "u6") and not await store.is_recipient(share, "u9")


async def test_learning_list_is_newest_first_without_completed_shares_and_pages_through(mongo, unique):
    db = mongo[f"learn_{unique}"]
    store = LearningStore(db)
    await store.ensure_indexes()
    n = 70
    shares = [{"_id": f"s{i:03d}", "author_id": "ann", "title": f"T{i}", "url": None} for i in range(n)]
    for i, s in enumerate(shares):
        s["published_at"] = T0 + timedelta(minutes=i)
    await db["shares"].insert_many(shares)
    await store.add_recipients([Bucket(f"{s['_id']}|o0:0", s["_id"], s["published_at"], ("me", "you")) for s in shares])

    async def ack(share_id: str, kind: str) -> None:
        share = next(s for s in shares if s["_id"] == share_id)

        async def work(session):  # type: ignore[no-untyped-def]
            await store.mark_progress(share, "me", kind, T0, session)

        await in_transaction(mongo, work)

    for i in range(5, n):  # the newest 65 are completed: the list has to read past them
        await ack(f"s{i:03d}", "learned")
    await ack("s003", "opened")

    items = await store.pending_for("me", None, 3)
    assert [i["share_id"] for i in items] == ["s004", "s003", "s002"]
    assert items[1]["acknowledged"] == ["opened"] and items[1]["title"] == "T3" and items[1]["author_id"] == "ann"
    rest = await store.pending_for("me", (items[-1]["delivered_at"], items[-1]["share_id"]), 10)
    assert [i["share_id"] for i in rest] == ["s001", "s000"]
    assert len(await store.pending_for("you", None, 100)) == n  # someone else's progress is theirs


async def test_recipients_stored_one_document_each_are_moved_into_buckets_once(mongo, unique):
    db = mongo[f"learn_{unique}"]
    legacy = [
        {
            "_id": f"{share}|u{i:04d}",
            "share_id": share,
            "user_id": f"u{i:04d}",
            "delivered_at": T0,
            "done": (share, i) == ("s1", 3),
            "acknowledged": ["opened", "learned"] if (share, i) == ("s1", 3) else ["opened"] if i == 4 else [],
        }
        for share, n in (("s1", 1500), ("s2", 5))
        for i in range(n)
    ]
    await db["recipients"].insert_many(legacy)
    stores = [LearningStore(db), LearningStore(db)]  # two processes starting at once
    await stores[0].ensure_indexes()
    await asyncio.gather(*(adopt_legacy_recipients(s) for s in stores))
    assert await adopt_completed_progress(stores[0]) == 1  # "done" becomes a completion of revision 1
    assert await adopt_completed_progress(stores[1]) == 0  # once per database
    store = stores[0]
    assert "recipients" not in await db.list_collection_names()
    assert (await store.recipient_count("s1"), await store.recipient_count("s2")) == (1500, 5)
    await db["shares"].insert_many(
        [{"_id": s, "author_id": "ann", "title": s, "published_at": T0} for s in ("s1", "s2")]
    )
    mine = {i["share_id"]: i["acknowledged"] for i in await store.pending_for("u0004", None, 10)}
    assert mine == {"s1": ["opened"], "s2": ["opened"]}
    assert [i["share_id"] for i in await store.pending_for("u0003", None, 10)] == ["s2"]  # s1 done
    assert await adopt_legacy_recipients(store) == 0  # nothing left to move


async def test_a_share_is_read_from_the_database_at_most_once_a_second_and_looked_up_again_until_stored(mongo, unique):
    db = mongo[f"learn_{unique}"]
    clock = [100.0]
    store = LearningStore(db, clock=lambda: clock[0])
    assert await store.share("s1") is None  # not known yet (its event is still on its way)
    share = {"_id": "s1", "author_id": "ann", "title": "T", "url": None, "published_at": T0}
    await db["shares"].insert_one(share)
    assert await store.share("s1") == share
    # Within the time to live a share read once is answered without the database ...
    await db["shares"].update_one({"_id": "s1"}, {"$set": {"status": "retracted"}})
    assert await store.share("s1") == share
    # ... after it, the share is read again (shares change: revisions, retraction).
    clock[0] += SHARE_TTL_S + 0.01
    assert (await store.share("s1"))["status"] == "retracted"
    # The process that applies a change drops its copy at once.
    await db["shares"].update_one({"_id": "s1"}, {"$set": {"title": "T2"}})
    store.forget("s1")
    assert (await store.share("s1"))["title"] == "T2"
