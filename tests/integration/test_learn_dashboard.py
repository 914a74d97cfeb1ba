"""The author's dashboard reads against the real database: the author's shares page by page, the counts of
each row, and the change feed of one share (what wakes the feedback stream, and what does not)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from learnloop_learn.domain.audience import Bucket
from learnloop_learn.storage.changes import ShareChanges
from learnloop_learn.storage.dashboard import AuthorShares
from learnloop_learn.storage.learning import LearningStore
from learnloop_learn.usecases.dashboard import AuthorDashboard

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def share(sid: str, author: str, minutes: int, **extra):  # type: ignore[no-untyped-def]
    return {"_id": sid, "author_id": author, "title": sid, "published_at": T0 + timedelta(minutes=minutes), **extra}


async def test_author_shares_newest_first_with_their_counts(mongo, unique):
    db = mongo[f"dash-{unique}"]
    store, shares = LearningStore(db), AuthorShares(db)
    await store.ensure_indexes()
    await shares.ensure_indexes()
    docs = [share(f"s{i}", "ann", i // 2) for i in range(5)] + [share("other", "bob", 99)]
    docs[4]["has_checks"] = True
    docs[3]["checks"] = [{"question": "q", "choices": ["a", "b"], "answer": 0}]
    docs[2]["status"] = "retracted"
    await db["shares"].insert_many(docs)
    await store.add_recipients([Bucket("s4|b1", "s4", docs[4]["published_at"], ("u1", "u2", "u3"))])
    await db["acknowledgements"].insert_many(
        [
            {"_id": "s4|u1|opened", "share_id": "s4", "user_id": "u1", "kind": "opened", "at": T0},
            {"_id": "s4|u2|opened", "share_id": "s4", "user_id": "u2", "kind": "opened", "at": T0},
            {"_id": "s4|u1|learned", "share_id": "s4", "user_id": "u1", "kind": "learned", "at": T0},
        ]
    )
    await db["progress"].insert_many(
        [
            {"_id": "s4|u1", "share_id": "s4", "user_id": "u1", "last_completed_revision": 1, "check_passed": True},
            {"_id": "s4|u2", "share_id": "s4", "user_id": "u2", "check_passed": False},
        ]
    )
    dash = AuthorDashboard(store, shares)
    first = await dash.page("ann", None, 3)
    assert [d["_id"] for d in first] == ["s4", "s3", "s2"]  # s2 and s3 at the same time: id descending
    row = first[0]["row"]
    assert (row.recipients, row.opened, row.learned, row.applied, row.passed) == (3, 2, 1, 0, 1)
    assert (row.completed, row.pending, row.overdue, row.has_checks) == (1, 2, 0, True)
    assert first[1]["row"].has_checks and not first[2]["row"].has_checks
    assert first[2]["row"].status == "retracted"
    rest = await dash.page("ann", (first[2]["published_at"], first[2]["_id"]), 3)
    assert [d["_id"] for d in rest] == ["s1", "s0"]
    assert [d["_id"] for d in await dash.page("bob", None, 3)] == ["other"]


async def test_the_change_feed_wakes_for_the_share_only(mongo, unique):
    db = mongo[f"dash-feed-{unique}"]
    feed = await ShareChanges(db).watch("s1")

    async def woken(within_s: float = 5.0) -> bool:
        deadline = asyncio.get_running_loop().time() + within_s
        while asyncio.get_running_loop().time() < deadline:
            if await feed.next():
                return True
        return False

    try:
        # Other shares (even one whose id starts with this one's), and collections that are not watched.
        await db["acknowledgements"].insert_one({"_id": "s10|u|opened", "share_id": "s10", "kind": "opened"})
        await db["answers"].insert_one({"_id": "a0", "share_id": "s2", "question_id": "q0"})
        await db["rounds"].insert_one({"_id": "s1|r2", "share_id": "s1"})
        assert not await woken(1.5)
        for coll, doc in [
            ("acknowledgements", {"_id": "s1|u|opened", "share_id": "s1", "kind": "opened"}),  # an acknowledgement
            ("acknowledgements", {"_id": "q-uuid", "share_id": "s1", "kind": "question"}),  # a question
            ("answers", {"_id": "a-uuid", "share_id": "s1", "question_id": "q-uuid"}),  # an answer
            ("check_attempts", {"_id": "s1|u|a1", "share_id": "s1"}),  # a knowledge-check attempt
            ("audience", {"_id": "s1|b1", "share_id": "s1", "users": ["u"]}),  # new recipients
        ]:
            await db[coll].insert_one(doc)
            assert await woken(), coll
        await db["acknowledgements"].update_one({"_id": "s1|u|opened"}, {"$set": {"rating": 4}})  # a rating replaced
        assert await woken()
        await db["progress"].update_one({"_id": "s1|u"}, {"$set": {"acknowledged": ["opened"]}}, upsert=True)
        assert await woken()
        assert not await woken(1.5)
    finally:
        await feed.close()
