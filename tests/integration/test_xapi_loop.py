"""The loop through xAPI against the real broker and database.

Out: learning events on the acknowledgements topic become statements in the LRS, once, replays included.
In: statements other tools store record acknowledgements through the acknowledging use case, once, and
the sweep takes what a crashed request left pending.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from learnloop_learn.app import consumers
from learnloop_learn.domain.audience import Bucket
from learnloop_learn.domain.checks import check_fields
from learnloop_learn.domain.directory import UserVersion
from learnloop_learn.domain.shares import new_share
from learnloop_learn.domain.xapi.loop import (
    COMPLETED,
    EXPERIENCED,
    Out,
    learnloop_authority_key,
    share_activity_id,
    statement_id,
)
from learnloop_learn.domain.xapi.scopes import XapiCaller
from learnloop_learn.jobs.xapi_loop_in import LoopInSweep
from learnloop_learn.messaging.xapi import XapiLoopHandlers
from learnloop_learn.storage.checks import CheckStore
from learnloop_learn.storage.directory import DirectoryCopy
from learnloop_learn.storage.learning import LearningStore
from learnloop_learn.storage.xapi.loop import LoopStore
from learnloop_learn.storage.xapi.statements import StatementStore
from learnloop_learn.usecases.acknowledging import Acknowledging
from learnloop_learn.usecases.xapi.intake import StatementIntake
from learnloop_learn.usecases.xapi.loop_in import LoopIn, LoopInSettings
from learnloop_learn.usecases.xapi.loop_out import LoopOut
from learnloop_shared.events import (
    CheckItem,
    LearningAcknowledged,
    LearningAnswered,
    LearningChecked,
    LearningReminded,
    encode,
    make_event,
)
from learnloop_shared.kafka.dead_letters import DeadLetters
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.kafka.runner import ConsumerRunner
from learnloop_shared.outbox import Outbox
from learnloop_shared.settings import ServiceSettings, Topics

from ..helpers import eventually, local_settings, read_all

URL = "http://learn.test"
HOME = "http://people.test"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOOL = XapiCaller(
    authority={"objectType": "Agent", "account": {"homePage": f"{URL}/xapi/credentials", "name": "lms"}},
    authority_key=f"account|{URL}/xapi/credentials|lms",
    scopes=frozenset({"statements/write"}),
    credential="lms",
)


# --- out -----------------------------------------------------------------------------------------


async def test_learning_events_become_statements_once(infra, mongo, make_topics, unique):
    topic, dlq = f"acks-{unique}", f"dlq-{unique}"
    await make_topics(topic, dlq)
    db = mongo[f"learn_xo_{unique}"]
    store = LearningStore(db)
    sid = f"s-{unique}"
    await store.states.published([new_share(sid, "ann", "Kafka", "https://wiki.test/kafka", (), T0)])
    statements = StatementStore(db)
    await statements.ensure_indexes()
    intake = StatementIntake(statements)
    out = LoopOut(intake, statements, store, Out(URL, HOME))
    deps = SimpleNamespace(
        on_shares=SimpleNamespace(on_published=None, on_revised=None, on_retracted=None, on_built_on=None),
        on_deliveries=SimpleNamespace(on_delivered=None),
        on_directory=SimpleNamespace(on_user_changed=None, on_team_changed=None),
        xapi=SimpleNamespace(on_learning=XapiLoopHandlers(out)),
    )
    rt = SimpleNamespace(settings=SimpleNamespace(topics=Topics(acknowledgements=topic)))
    [spec] = [s for s in consumers(rt, deps) if s.name == "xapi-loop-out"]  # type: ignore[arg-type]
    settings = local_settings(
        ServiceSettings, infra, service_name=f"learn-{unique}", data_dir=Path(tempfile.mkdtemp(prefix="faust-"))
    )
    publisher = Publisher(settings)
    await publisher.start()
    worker = ConsumerRunner(settings, [spec], DeadLetters(publisher, dlq, "/test"))
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()

    def acked(kind: str, ack_id: str, **extra: Any) -> LearningAcknowledged:
        return LearningAcknowledged(
            acknowledgement_id=ack_id,
            share_id=sid,
            author_id="ann",
            recipient_id="bob",
            title="Kafka",
            kind=kind,  # type: ignore[arg-type]
            acknowledged_at=T0,
            **extra,
        )

    events = [
        make_event(acked("opened", f"{sid}|bob|opened"), source="/learn", event_id=f"e1-{unique}"),
        make_event(acked("rated", f"{sid}|bob|rated", rating=3), source="/learn", event_id=f"e2-{unique}"),
        make_event(acked("rated", f"{sid}|bob|rated", rating=5), source="/learn", event_id=f"e3-{unique}"),
        make_event(acked("question", f"q-{unique}", text="Why?"), source="/learn", event_id=f"e4-{unique}"),
        # came from a statement: no second statement
        make_event(
            acked("learned", f"{sid}|bob|learned", statement_id=str(uuid.uuid4())),
            source="/learn",
            event_id=f"e5-{unique}",
        ),
        make_event(
            LearningChecked(
                attempt_id=f"a-{unique}",
                share_id=sid,
                author_id="ann",
                recipient_id="bob",
                title="Kafka",
                attempt=1,
                score=0.5,
                passed=False,
                correct=(True, False),
                checked_at=T0,
            ),
            source="/learn",
            event_id=f"e6-{unique}",
        ),
        make_event(
            LearningAnswered(
                answer_id=f"x-{unique}",
                question_id=f"q-{unique}",
                share_id=sid,
                author_id="ann",
                title="Kafka",
                asked_by="bob",
                answered_by="ann",
                text="Because.",
                answered_at=T0,
            ),
            source="/learn",
            event_id=f"e7-{unique}",
        ),
        make_event(  # another type on the topic: skipped, not dead-lettered
            LearningReminded(
                round_id=f"r-{unique}",
                share_id=sid,
                author_id="ann",
                title="Kafka",
                reason="manual",
                recipient_ids=("bob",),
                reminded_at=T0,
            ),
            source="/learn",
            event_id=f"e8-{unique}",
        ),
    ]

    async def send_all() -> None:
        for e in events:
            await producer.send_and_wait(topic, encode(e), key=sid.encode())

    async def stored() -> list[dict[str, Any]]:
        return await statements.statements.find({"activity": share_activity_id(URL, sid)}).to_list(None)

    try:
        await worker.start()
        await send_all()
        docs = await eventually(lambda: _at_least(stored, 6))
        await send_all()  # a replay: the same events again, then one more on the same partition: once it is
        # stored, the replay before it was consumed, and stored nothing new
        marker = make_event(acked("applied", f"{sid}|bob|applied"), source="/learn", event_id=f"e9-{unique}")
        await producer.send_and_wait(topic, encode(marker), key=sid.encode())
        docs = await eventually(lambda: _at_least(stored, 7))
        assert len(docs) == 7
        by_verb = {d["verb"].rsplit("/", 1)[1]: d for d in docs if "rated" not in d["verb"]}
        assert set(by_verb) == {"experienced", "asked", "failed", "answered", "use"}
        assert sum("rated" in d["verb"] for d in docs) == 2  # each rating given
        opened = by_verb["experienced"]["statement"]
        assert opened["id"] == statement_id(f"ack:{sid}|bob|opened")
        assert opened["actor"]["account"] == {"homePage": HOME, "name": "bob"}
        assert opened["object"]["definition"]["moreInfo"] == "https://wiki.test/kafka"
        assert all(d["authority_key"] == learnloop_authority_key(URL) for d in docs)
        assert all("loop_in" not in d for d in docs)  # Learnloop's own statements are never taken in
        assert by_verb["answered"]["statement"]["context"]["statement"]["id"] == statement_id(f"ack:q-{unique}")
        assert await read_all(infra, dlq, quiet_ms=500) == []
    finally:
        await producer.stop()
        await worker.stop()
        await publisher.stop()


async def _at_least(read, n: int):  # type: ignore[no-untyped-def]
    docs = await read()
    return docs if len(docs) >= n else None


async def test_a_batch_with_stored_statements_stores_only_the_new_ones(mongo, unique):
    db = mongo[f"learn_xo2_{unique}"]
    store = LearningStore(db)
    statements = StatementStore(db)
    intake = StatementIntake(statements)
    seen: list[str] = []

    async def after(docs) -> None:  # type: ignore[no-untyped-def]
        seen.extend(d["_id"] for d in docs)

    intake.after_store.append(after)
    out = LoopOut(intake, statements, store, Out(URL, HOME))

    def ev(n: int):  # type: ignore[no-untyped-def]
        data = LearningAcknowledged(
            acknowledgement_id=f"q{n}-{unique}",
            share_id=f"s-{unique}",
            author_id="ann",
            recipient_id="bob",
            title="Kafka",
            kind="question",
            text=f"question {n}",
            acknowledged_at=T0,
        )
        return make_event(data, source="/learn", event_id=f"e{n}-{unique}")

    assert await out.record([ev(1)]) == []
    assert await out.record([ev(1), ev(2)]) == []  # the first is stored: only the second is written
    assert seen == [statement_id(f"ack:q1-{unique}"), statement_id(f"ack:q2-{unique}")]


# --- in ------------------------------------------------------------------------------------------


@pytest.fixture
async def env_in(infra, mongo, make_topics, unique):  # type: ignore[no-untyped-def]
    settings = local_settings(ServiceSettings, infra, service_name="learn", mongo_db=f"learn_xi_{unique}")
    topic = f"acks-{unique}"
    await make_topics(topic)
    db = mongo[settings.mongo_db]
    publisher = Publisher(settings)
    await publisher.start()
    outbox = Outbox(db, publisher)
    await outbox.ensure_indexes()
    store = LearningStore(db)
    await store.ensure_indexes()
    checks = CheckStore(db)
    acknowledging = Acknowledging(store, checks, outbox, topic, "/learn")
    sid, checked = f"s-{unique}", f"c-{unique}"
    check = check_fields([CheckItem(question="Port?", choices=("80", "9092"), answer=1).model_dump()], 1.0, 3)
    await store.states.published(
        [
            new_share(sid, "ann", "Kafka", f"https://wiki.test/{unique}", (), T0),
            new_share(checked, "ann", "Checked", f"https://wiki.test/c-{unique}", (), T0, has_checks=True) | check,
        ]
    )
    await store.add_recipients(
        [Bucket(f"{sid}|o0:0", sid, T0, ("bob",)), Bucket(f"{checked}|o0:0", checked, T0, ("bob",))]
    )
    directory = DirectoryCopy(db)
    await directory.ensure_indexes()
    await directory.put_users(
        [UserVersion("bob", "Bob", "Bob@Example.com", 1), UserVersion("cat", "Cat", "cat@x.test", 1)]
    )
    loop = LoopStore(db)
    await loop.ensure_indexes()
    statements = StatementStore(db)
    await statements.ensure_indexes()

    def make(grace_s: float = 30.0, hooks: bool = True) -> tuple[StatementIntake, LoopInSweep]:
        from learnloop_learn.domain.xapi.loop import DEFAULT_VERB_MAP

        li = LoopIn(
            loop,
            store,
            acknowledging,
            LoopInSettings(DEFAULT_VERB_MAP, URL, HOME, learnloop_authority_key(URL), grace_s=grace_s),
        )
        intake = StatementIntake(statements)
        intake.before_store.append(li.mark)
        if hooks:
            intake.after_store.append(li.after_store)
        return intake, LoopInSweep(li, batch=2)

    yield SimpleNamespace(
        db=db,
        sid=sid,
        checked=checked,
        make=make,
        statements=statements,
        topic=topic,
        url=f"https://wiki.test/{unique}",
        infra=infra,
    )
    await outbox.close()
    await publisher.stop()


def st(verb: str, obj_id: str, actor: dict[str, Any]) -> dict[str, Any]:
    return {"actor": actor, "verb": {"id": verb}, "object": {"objectType": "Activity", "id": obj_id}}


BOB = {"objectType": "Agent", "account": {"homePage": HOME, "name": "bob"}}


async def acks(env, kind: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return await env.db["acknowledgements"].find({"share_id": env.sid, "kind": kind}).to_list(None)


async def test_statements_record_acknowledgements_once(env_in):  # type: ignore[no-untyped-def]
    env = env_in
    intake, _ = env.make()
    share = share_activity_id(URL, env.sid)
    [first] = await intake.store(st(COMPLETED, share, BOB), TOOL, "1.0.3")
    [again] = await intake.store(st(COMPLETED, share, BOB), TOOL, "1.0.3")  # the same, another id
    [opened] = await intake.store(st(EXPERIENCED, env.url, {"mbox": "mailto:BOB@example.COM"}), TOOL, "2.0.0")
    [liked] = await intake.store(st("http://example.com/verbs/liked", share, BOB), TOOL, "1.0.3")
    [stranger] = await intake.store(st(COMPLETED, share, {"account": {"homePage": HOME, "name": "cat"}}), TOOL, "1.0.3")
    [nowhere] = await intake.store(st(COMPLETED, "https://elsewhere.test/x", BOB), TOOL, "1.0.3")

    [learned] = await acks(env, "learned")
    assert learned["statement_id"] == first and learned["user_id"] == "bob"
    [o] = await acks(env, "opened")
    assert o["statement_id"] == opened

    async def outcome(sid: str) -> str | None:
        doc = await env.statements.get(sid)
        assert "loop_in_due" not in doc and "loop_in_claim" not in doc
        return doc.get("loop_in")

    assert await outcome(first) == f"recorded: learned on share {env.sid}"
    assert await outcome(again) == f"recorded before: learned on share {env.sid}"
    assert await outcome(opened) == f"recorded: opened on share {env.sid}"
    assert await outcome(liked) is None  # maps to nothing: stored, nothing else
    assert (await outcome(stranger) or "").startswith("ignored: cat is not a recipient")
    assert await outcome(nowhere) == "ignored: the object is not a share"

    # The acknowledgement's event says where it came from (so the loop out writes no second statement).
    events = await read_all(env.infra, env.topic, expect=2)
    data = [e for e in events if b"learning.acknowledged" in e.value]
    assert len(data) == 2 and all(first.encode() in d.value or opened.encode() in d.value for d in data)


async def test_learned_on_a_share_with_an_unpassed_check_is_refused_and_said_so(env_in):  # type: ignore[no-untyped-def]
    intake, _ = env_in.make()
    [sid] = await intake.store(st(COMPLETED, share_activity_id(URL, env_in.checked), BOB), TOOL, "1.0.3")
    doc = await env_in.statements.get(sid)
    assert doc["loop_in"] == f"refused: learned on share {env_in.checked} needs its knowledge check passed first"
    assert await env_in.db["acknowledgements"].count_documents({"share_id": env_in.checked}) == 0


async def test_the_sweep_takes_what_a_crash_left_pending_once(env_in):  # type: ignore[no-untyped-def]
    intake, _ = env_in.make(grace_s=0.3, hooks=False)  # stored, then "crashed" before taking them in
    share = share_activity_id(URL, env_in.sid)
    ids = await intake.store(
        [
            st(COMPLETED, share, BOB),
            st(EXPERIENCED, share, BOB),
            st(COMPLETED, env_in.url, {"mbox": "mailto:bob@example.com"}),
        ],
        TOOL,
        "1.0.3",
    )
    for sid in ids:
        assert (await env_in.statements.get(sid))["loop_in"] == "pending"
    _, sweeper1 = env_in.make(grace_s=0.3)
    _, sweeper2 = env_in.make(grace_s=0.3)
    assert await sweeper1.run_due() == 0  # not due yet: the request that stored them may still take them

    async def swept() -> list[str]:
        await asyncio.gather(sweeper1.run_due(), sweeper2.run_due())  # two replicas at once
        docs = [await env_in.statements.get(sid) for sid in ids]
        return [d["loop_in"] for d in docs] if all(d["loop_in"] != "pending" for d in docs) else []

    outcomes = await eventually(swept, timeout=10)
    assert sorted(o.split(":")[0] for o in outcomes) == ["recorded", "recorded", "recorded before"]
    assert len(await acks(env_in, "learned")) == 1 and len(await acks(env_in, "opened")) == 1
    assert await env_in.db["xapi_statements"].count_documents({"loop_in_due": {"$exists": True}}) == 0


async def test_learnloops_own_statements_are_never_taken_in(env_in):  # type: ignore[no-untyped-def]
    from learnloop_learn.usecases.xapi.loop_out import learnloop_caller

    intake, _ = env_in.make()
    [sid] = await intake.store(st(COMPLETED, share_activity_id(URL, env_in.sid), BOB), learnloop_caller(URL), "1.0.3")
    assert "loop_in" not in await env_in.statements.get(sid)
    assert await acks(env_in, "learned") == []
