"""Learn's knowledge checks against the real broker and database: share events produced onto the topics
give learn's copy of a share its check (whichever comes first, replays included); concurrent attempts
never exceed the maximum; a pass records ``learned`` exactly once; every attempt is a ``learning.checked``
event on the broker."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaProducer
from learnloop_learn.app import consumers
from learnloop_learn.domain.acknowledgements import AckIn, Outcome
from learnloop_learn.domain.audience import Bucket
from learnloop_learn.domain.checks import CheckTotals, check_fields
from learnloop_learn.domain.shares import new_share
from learnloop_learn.messaging.recipients import RecipientHandlers
from learnloop_learn.messaging.shares import ShareHandlers
from learnloop_learn.storage.checks import CheckStore
from learnloop_learn.storage.learning import LearningStore
from learnloop_learn.usecases.acknowledging import Acknowledging, CheckNotPassed
from learnloop_learn.usecases.checking import AttemptRefused, Checking
from learnloop_learn.usecases.following import FollowShares
from learnloop_learn.usecases.recipients import RecordRecipients
from learnloop_shared.events import (
    CheckItem,
    LearningAcknowledged,
    LearningChecked,
    ShareDelivered,
    SharePublished,
    decode,
    encode,
    make_event,
)
from learnloop_shared.kafka.dead_letters import DeadLetters
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.kafka.runner import ConsumerRunner
from learnloop_shared.outbox import Outbox
from learnloop_shared.settings import ServiceSettings, Topics

from ..helpers import eventually, local_settings, read_all

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHECKS = (
    CheckItem(question="Which port?", choices=("80", "9092"), answer=1),
    CheckItem(question="Ordered per?", choices=("topic", "partition", "cluster"), answer=1),
)
RIGHT, WRONG = [1, 1], [0, 0]
TYPES = {LearningChecked.event_type: LearningChecked, LearningAcknowledged.event_type: LearningAcknowledged}


async def test_share_events_give_learns_copy_its_check_whichever_comes_first(infra, mongo, make_topics, unique):
    shares_topic, deliveries_topic, dlq = f"shares-{unique}", f"deliveries-{unique}", f"dlq-{unique}"
    await make_topics(shares_topic, deliveries_topic, dlq)
    store = LearningStore(mongo[f"learn_{unique}"])
    await store.ensure_indexes()
    settings = local_settings(
        ServiceSettings, infra, service_name=f"learn-{unique}", data_dir=Path(tempfile.mkdtemp(prefix="faust-"))
    )
    deps = SimpleNamespace(
        on_shares=ShareHandlers(FollowShares(store)),
        on_deliveries=RecipientHandlers(RecordRecipients(store)),
        on_directory=SimpleNamespace(on_user_changed=None, on_team_changed=None),  # not consumed here
        xapi=SimpleNamespace(on_learning=SimpleNamespace(on_learning=None)),  # not consumed here
    )
    rt = SimpleNamespace(settings=SimpleNamespace(topics=Topics(shares=shares_topic, deliveries=deliveries_topic)))
    specs = [s for s in consumers(rt, deps) if s.name in ("shares", "deliveries")]  # type: ignore[arg-type]
    publisher = Publisher(settings)
    await publisher.start()
    worker = ConsumerRunner(settings, specs, DeadLetters(publisher, dlq, "/test"))
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    first, later, plain = f"d-{unique}", f"p-{unique}", f"n-{unique}"

    def published(sid: str, checks: tuple[CheckItem, ...] = CHECKS) -> SharePublished:
        return SharePublished(
            share_id=sid,
            author_id="ann",
            title="Kafka",
            published_at=T0,
            checks=checks,
            pass_mark=0.5,
            max_attempts=4,
        )

    def delivered(sid: str, user: str, has_checks: bool = True) -> ShareDelivered:
        return ShareDelivered(
            share_id=sid,
            recipient_id=user,
            author_id="ann",
            title="Kafka",
            published_at=T0,
            has_checks=has_checks,
        )

    async def send(topic: str, data, key: str, event_id: str | None = None) -> None:  # type: ignore[no-untyped-def]
        event = make_event(data, source="/test", event_id=event_id)
        await producer.send_and_wait(topic, encode(event), key=key.encode())

    try:
        await worker.start()
        # A delivery before the share's publication: learn knows there is a check, not its questions.
        await send(deliveries_topic, delivered(first, "bob"), first)
        await eventually(lambda: store.states.get(first))
        doc = await store.states.get(first)
        assert doc is not None and doc["has_checks"] is True and "checks" not in doc
        await send(shares_topic, published(first), first, event_id=f"p-{first}")
        await send(shares_topic, published(first), first, event_id=f"p-{first}")  # replayed
        # The publication first, then its deliveries (which change nothing); a share without a check.
        await send(shares_topic, published(later), later)
        await send(deliveries_topic, delivered(later, "bob"), later)
        await send(shares_topic, published(plain, ()), plain)
        await send(deliveries_topic, delivered(plain, "bob", has_checks=False), plain)

        async def stored() -> bool:
            docs = [await store.states.get(s) for s in (first, later, plain)]
            return all(d is not None and "checks" in d for d in docs) and await store.recipient_count(later) == 1

        await eventually(stored)
        for sid in (first, later):
            doc = await store.states.get(sid)
            assert doc is not None
            assert {k: doc[k] for k in ("checks", "pass_mark", "max_attempts", "has_checks")} == {
                "checks": [c.model_dump(mode="json") | {"choices": list(c.choices)} for c in CHECKS],
                "pass_mark": 0.5,
                "max_attempts": 4,
                "has_checks": True,
            }
        doc = await store.states.get(plain)
        assert doc is not None and doc["has_checks"] is False and doc["checks"] == []
    finally:
        await worker.stop()
        await producer.stop()
        await publisher.stop()


@pytest.fixture
async def env(infra, mongo, make_topics, unique):
    settings = local_settings(ServiceSettings, infra, service_name="learn", mongo_db=f"learn_c_{unique}")
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
    sid = f"s-{unique}"
    fields = check_fields([c.model_dump() for c in CHECKS], 1.0, 3)
    await store.states.published([new_share(sid, "ann", "Kafka", None, (), T0) | fields])
    await store.add_recipients([Bucket(f"{sid}|o0:0", sid, T0, ("bob", "cat", "dan"))])
    share = await store.states.get(sid)
    yield SimpleNamespace(
        db=db,
        topic=topic,
        share=share,
        checks=checks,
        acknowledging=acknowledging,
        checking=Checking(checks, acknowledging, outbox, topic, "/learn"),
    )
    await outbox.close()
    await publisher.stop()


async def _attempts(env, user: str, answers: list[int], n: int) -> list[object]:  # type: ignore[no-untyped-def]
    return await asyncio.gather(
        *(env.checking.attempt(env.share, user, answers) for _ in range(n)), return_exceptions=True
    )


async def test_concurrent_attempts_never_exceed_the_maximum(env, infra):
    results = await _attempts(env, "bob", WRONG, 8)
    taken = sorted(r.attempt for r in results if not isinstance(r, BaseException))  # type: ignore[attr-defined]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert taken == [1, 2, 3]
    assert len(refused) == 5 and all(isinstance(r, AttemptRefused) for r in refused)
    assert all("no attempts left" in str(r) for r in refused)
    progress = await env.checks.progress_of(env.share["_id"], "bob")
    assert progress["check_attempts"] == 3 and progress["check_passed"] is False and progress["check_best"] == 0
    assert progress["check_correct"] == [False, False] and progress["check_passed_at"] is None
    assert "acknowledged" not in progress  # an attempt is not an acknowledgement
    assert await env.db["check_attempts"].count_documents({"share_id": env.share["_id"], "user_id": "bob"}) == 3
    with pytest.raises(AttemptRefused):  # also right answers: none is left
        await env.checking.attempt(env.share, "bob", RIGHT)

    records = await read_all(infra, env.topic, expect=3)
    events = [decode(r.value, TYPES) for r in records]
    assert {r.key for r in records} == {env.share["_id"].encode()}
    assert sorted(e.data.attempt for e in events) == [1, 2, 3]
    assert {(e.type, e.data.recipient_id, e.data.score, e.data.passed, e.data.correct) for e in events} == {
        (LearningChecked.event_type, "bob", 0.0, False, (False, False))
    }
    assert all(e.data.attempt_id == f"{env.share['_id']}|bob|a{e.data.attempt}" for e in events)


async def test_a_pass_records_learned_exactly_once_and_learned_waits_for_it(env, infra):
    sid = env.share["_id"]
    with pytest.raises(CheckNotPassed):  # not without a pass
        await env.acknowledging.acknowledge(env.share, "cat", AckIn(kind="learned"))
    opened = await env.acknowledging.acknowledge(env.share, "cat", AckIn(kind="opened"))  # others stay as they are
    assert opened.outcome is Outcome.created
    first = await env.checking.attempt(env.share, "cat", [1, 0])
    assert (first.attempt, first.score, first.passed, first.correct) == (1, 0.5, False, [True, False])
    with pytest.raises(CheckNotPassed):
        await env.acknowledging.acknowledge(env.share, "cat", AckIn(kind="learned"))

    results = await _attempts(env, "cat", RIGHT, 4)  # several passing attempts at once: one counts
    passes = [r for r in results if not isinstance(r, BaseException)]
    assert len(passes) == 1 and passes[0].passed and passes[0].attempt == 2  # type: ignore[attr-defined]
    assert all(isinstance(r, AttemptRefused) and "passed" in str(r) for r in results if r not in passes)

    progress = await env.checks.progress_of(sid, "cat")
    assert progress["check_attempts"] == 2 and progress["check_passed"] is True and progress["check_best"] == 1.0
    assert progress["check_passed_at"] is not None and progress["check_correct"] == [True, True]
    assert progress["acknowledged"] == ["opened", "learned"] and progress["last_completed_revision"] == 1
    learned = await env.db["acknowledgements"].find({"share_id": sid, "kind": "learned"}).to_list()
    assert [a["_id"] for a in learned] == [f"{sid}|cat|learned"]
    again = await env.acknowledging.acknowledge(env.share, "cat", AckIn(kind="learned"))  # now it may: recorded
    assert again.outcome is Outcome.repeated

    records = await read_all(infra, env.topic, expect=4)  # opened, two attempts, learned
    events = [decode(r.value, TYPES).data for r in records]
    assert Counter(type(e).__name__ for e in events) == {"LearningChecked": 2, "LearningAcknowledged": 2}
    acks = [e for e in events if isinstance(e, LearningAcknowledged)]
    assert [(a.kind, a.completed, a.acknowledgement_id) for a in acks] == [
        ("opened", False, f"{sid}|cat|opened"),
        ("learned", True, f"{sid}|cat|learned"),
    ]
    assert (await read_all(infra, env.topic, quiet_ms=1000))[4:] == []  # and nothing more


async def test_the_authors_totals_count_recipients_and_their_latest_attempts(env):
    sid = env.share["_id"]
    assert await env.checks.totals(sid, 2) == CheckTotals(correct=(0, 0))  # nobody attempted yet
    await env.checking.attempt(env.share, "dan", [1, 0])
    await env.checking.attempt(env.share, "dan", [0, 1])  # the latest attempt counts per question
    await env.checking.attempt(env.share, "bob", [1, 0])
    await env.checking.attempt(env.share, "bob", [1, 1])
    totals = await env.checks.totals(sid, 2)
    assert (totals.attempted, totals.passed, totals.attempts, totals.correct) == (2, 1, 4, (1, 2))
    assert (await env.checks.progress_of(sid, "dan"))["check_best"] == 0.5
    await env.acknowledging.acknowledge(env.share, "cat", AckIn(kind="rated", rating=4))
    await env.acknowledging.acknowledge(env.share, "dan", AckIn(kind="rated", rating=4))
    await env.acknowledging.acknowledge(env.share, "bob", AckIn(kind="rated", rating=2))
    counts, ratings = await LearningStore(env.db).counts_and_ratings(sid)
    assert counts == {"learned": 1, "rated": 3} and ratings == {4: 2, 2: 1}
