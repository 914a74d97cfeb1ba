"""Learn's questions, answers and recipient state against the real database and broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from learnloop_learn.domain.audience import Bucket
from learnloop_learn.domain.questions import ANSWERS_SHOWN, MAX_ANSWERS_PER_QUESTION, AnswerIn
from learnloop_learn.storage.learning import LearningStore
from learnloop_learn.storage.questions import QuestionStore
from learnloop_learn.storage.state import StateReader
from learnloop_learn.usecases.answering import Answering, TooManyAnswers
from learnloop_shared.events import LearningAnswered, decode
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.outbox import Outbox
from learnloop_shared.settings import ServiceSettings

from ..helpers import local_settings, read_all

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SHARE = {"_id": "s1", "author_id": "ann", "title": "Tuning", "url": None, "published_at": T0}


def question(qid: str, user: str, public: bool, minutes: int, **extra):  # type: ignore[no-untyped-def]
    return {
        "_id": qid,
        "share_id": "s1",
        "user_id": user,
        "kind": "question",
        "text": f"{qid}?",
        "public": public,
        "at": T0 + timedelta(minutes=minutes),
        **extra,
    }


@pytest.fixture
async def env(infra, mongo, make_topics, unique):
    settings = local_settings(ServiceSettings, infra, service_name="learn", mongo_db=f"learn_q_{unique}")
    topic = f"acks-{unique}"
    await make_topics(topic)
    db = mongo[settings.mongo_db]
    publisher = Publisher(settings)
    await publisher.start()
    outbox = Outbox(db, publisher)
    await outbox.ensure_indexes()
    store = QuestionStore(db)
    await store.ensure_indexes()
    await LearningStore(db).ensure_indexes()
    yield db, store, Answering(store, outbox, topic, "/learn"), topic
    await outbox.close()
    await publisher.stop()


async def test_concurrent_answers_each_tell_the_whole_thread_before_them(env, infra):
    db, store, answering, topic = env
    await db["acknowledgements"].insert_one(question("q1", "bob", True, 0))
    q = await store.question("q1")
    writers = ["carol", "dave", "erin", "ann", "bob", "carol"]
    answers = await asyncio.gather(*(answering.answer(SHARE, q, w, AnswerIn(text=f"from {w}")) for w in writers))
    assert (await store.question("q1"))["answer_count"] == len(writers)
    assert await db["answers"].count_documents({"question_id": "q1"}) == len(writers)

    records = await read_all(infra, topic, expect=len(writers))
    events = [decode(r.value, {LearningAnswered.event_type: LearningAnswered}).data for r in records]
    assert {r.key for r in records} == {b"s1"}
    assert sorted(e.answer_id for e in events) == sorted(a.id for a in answers)
    stored = {d["_id"]: d async for d in db["answers"].find({})}
    for e in events:  # everyone who answered before this answer was stored, plus asker and author, minus the writer
        # (answers are stamped in commit order, to the millisecond: one stamped the same millisecond may be either)
        before = {d["user_id"] for d in stored.values() if d["at"] < e.answered_at and d["_id"] != e.answer_id}
        same_ms = {d["user_id"] for d in stored.values() if d["at"] == e.answered_at and d["_id"] != e.answer_id}
        assert ({"bob", "ann"} | before) - {e.answered_by} <= set(e.notify)
        assert set(e.notify) <= ({"bob", "ann"} | before | same_ms) - {e.answered_by}
        assert len(e.notify) == len(set(e.notify)) and e.asked_by == "bob" and e.public and e.title == "Tuning"


async def test_a_question_takes_at_most_its_limit_of_answers(env):
    db, store, answering, _ = env
    await db["acknowledgements"].insert_one(question("q2", "bob", False, 0, answer_count=MAX_ANSWERS_PER_QUESTION - 1))
    q = await store.question("q2")
    await answering.answer(SHARE, q, "ann", AnswerIn(text="the last one"))
    with pytest.raises(TooManyAnswers):
        await answering.answer(SHARE, q, "bob", AnswerIn(text="one too many"))
    assert await db["answers"].count_documents({"question_id": "q2"}) == 1
    assert (await store.question("q2"))["answer_count"] == MAX_ANSWERS_PER_QUESTION


async def test_readers_see_public_questions_and_their_own_newest_first_in_pages(env):
    db, store, _, _ = env
    docs = [question(f"q{i}", ("bob", "carol")[i % 2], i % 3 == 0, i) for i in range(9)]
    docs.append({**question("other", "bob", True, 0), "share_id": "s2"})
    docs.append({"_id": "s1|bob|opened", "share_id": "s1", "user_id": "bob", "kind": "opened", "at": T0})
    await db["acknowledgements"].insert_many(docs)

    async def all_pages(reader: str | None) -> list[str]:
        seen, after = [], None
        while True:
            page = await store.page("s1", reader, after, 3 + 1)
            seen += [d["_id"] for d in page[:3]]
            if len(page) <= 3:
                return seen
            after = (page[2]["at"], page[2]["_id"])

    assert await all_pages(None) == [f"q{i}" for i in range(8, -1, -1)]
    # bob asked the even-numbered ones; those numbered by a multiple of 3 are public
    assert await all_pages("bob") == [f"q{i}" for i in range(8, -1, -1) if i % 2 == 0 or i % 3 == 0]
    assert await all_pages("dave") == ["q6", "q3", "q0"]


async def test_each_question_lists_its_latest_answers_oldest_first(env):
    db, store, _, _ = env
    n = ANSWERS_SHOWN + 5
    answers = [
        {"_id": f"a{i:03d}", "question_id": "q1", "share_id": "s1", "user_id": "u", "text": "t", "at": T0}
        for i in range(n)
    ]
    await db["answers"].insert_many(answers)
    shown = await store.latest_answers([{"_id": "q1", "answer_count": n}, {"_id": "q2"}])
    assert list(shown) == ["q1"]
    assert [a["_id"] for a in shown["q1"]] == [f"a{i:03d}" for i in range(5, n)]


async def test_state_documents_only_for_shares_the_user_received(env):
    db, store, _, _ = env
    learning = LearningStore(db)
    s2 = {**SHARE, "_id": "s2", "published_at": T0 + timedelta(hours=1), "confirm_revision": 2, "revision": 2}
    await db["shares"].insert_many([SHARE, s2, {**SHARE, "_id": "s3"}])
    await learning.add_recipients(
        [Bucket("s1|o0:0", "s1", T0, ("bob", "carol")), Bucket("s2|o0:1", "s2", s2["published_at"], ("bob",))]
    )
    await db["acknowledgements"].insert_many(
        [
            {"_id": "s1|bob|learned", "share_id": "s1", "user_id": "bob", "kind": "learned", "at": T0},
            {"_id": "s1|bob|rated", "share_id": "s1", "user_id": "bob", "kind": "rated", "rating": 4, "at": T0},
            {"_id": "s2|bob|rated", "share_id": "s2", "user_id": "bob", "kind": "rated", "rating": 2, "at": T0},
            {"_id": "s2|bob|opened|c2", "share_id": "s2", "user_id": "bob", "kind": "opened", "at": T0},
            question("qa", "bob", False, 1),
            question("qb", "bob", True, 2),
            question("qc", "carol", True, 3),
        ]
    )
    await db["progress"].insert_one({"_id": "s1|bob", "share_id": "s1", "user_id": "bob", "last_completed_revision": 1})
    view = await StateReader(db, store).view("bob", ["s3", "s2", "nope", "s1"])
    assert [s["_id"] for s in view.shares] == ["s2", "s1"]  # s3 and nope: not received
    assert sorted(a["_id"] for a in view.cycle_acks["s1"]) == ["s1|bob|learned", "s1|bob|rated"]
    assert [a["_id"] for a in view.cycle_acks["s2"]] == ["s2|bob|opened|c2"]  # the cycle-1 rating is not current
    assert view.asked == {"s1": {1: 2}} and list(view.progress) == ["s1"]
    assert (await StateReader(db, store).view("dave", ["s1"])).shares == []
