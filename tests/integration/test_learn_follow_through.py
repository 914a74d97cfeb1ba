"""Learn follows shares through, against the real broker and database: share events produced straight onto
the topic keep learn's copy of each share and its round plan current (idempotently, replays included), and
acknowledgements complete a share per confirm cycle."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from aiokafka import AIOKafkaProducer
from learnloop_learn.app import consumers
from learnloop_learn.domain.audience import Bucket
from learnloop_learn.domain.shares import new_share
from learnloop_learn.messaging.shares import ShareHandlers
from learnloop_learn.storage.learning import LearningStore
from learnloop_learn.usecases.following import FollowShares
from learnloop_shared.events import (
    ShareBuiltOn,
    SharePublished,
    ShareRetracted,
    ShareRevised,
    encode,
    make_event,
)
from learnloop_shared.kafka.dead_letters import DeadLetters
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.kafka.runner import ConsumerRunner
from learnloop_shared.mongo import in_transaction
from learnloop_shared.settings import ServiceSettings, Topics

from ..helpers import eventually, local_settings

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DUE = T0 + timedelta(days=3)


def published(sid: str) -> SharePublished:
    return SharePublished(
        share_id=sid,
        author_id="ann",
        title="Kafka",
        topics=("kafka",),
        published_at=T0,
        requires="learned",
        due_at=DUE,
        reminders=("PT1H", "PT2H"),
    )


def revised(sid: str, revision: int, reconfirm: bool, reminders: tuple[str, ...], due_at: datetime) -> ShareRevised:
    return ShareRevised(
        share_id=sid,
        author_id="ann",
        revision=revision,
        title=f"Kafka v{revision}",
        url=f"https://wiki/{revision}",
        requires="applied",
        due_at=due_at,
        reminders=reminders,
        reconfirm=reconfirm,
        changed=("title",),
        published_at=T0,
        revised_at=T0 + timedelta(hours=revision),
    )


async def test_share_events_keep_the_share_and_its_round_plan_current(infra, mongo, make_topics, unique):
    topic, dlq = f"shares-{unique}", f"dlq-{unique}"
    await make_topics(topic, dlq)
    store = LearningStore(mongo[f"learn_{unique}"])
    await store.ensure_indexes()
    settings = local_settings(
        ServiceSettings, infra, service_name=f"learn-{unique}", data_dir=Path(tempfile.mkdtemp(prefix="faust-"))
    )
    deps = SimpleNamespace(
        on_shares=ShareHandlers(FollowShares(store)),
        on_deliveries=SimpleNamespace(on_delivered=None),
        on_directory=SimpleNamespace(on_user_changed=None, on_team_changed=None),
        xapi=SimpleNamespace(on_learning=SimpleNamespace(on_learning=None)),  # not consumed here
    )
    rt = SimpleNamespace(settings=SimpleNamespace(topics=Topics(shares=topic, deliveries=f"unused-{unique}")))
    [spec] = [s for s in consumers(rt, deps) if s.name == "shares"]  # type: ignore[arg-type]
    publisher = Publisher(settings)
    await publisher.start()
    worker = ConsumerRunner(settings, [spec], DeadLetters(publisher, dlq, "/test"))
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    sid, other = f"s-{unique}", f"o-{unique}"

    async def send(data, key: str = sid, n: int | None = None) -> None:
        event = make_event(data, source="/test", event_id=f"e-{key}-{n}" if n is not None else None)
        await producer.send_and_wait(topic, encode(event), key=key.encode())

    async def rounds() -> dict[str, str]:
        return {r["_id"].split("|", 1)[1]: r["state"] for r in await store.rounds.of_share(sid)}

    async def share():
        return await store.states.get(sid)

    try:
        await worker.start()
        # A delivery got there first: learn stored the share from it, without reminders.
        await store.upsert_shares([new_share(sid, "ann", "Kafka", None, (), T0, "learned", DUE)])
        await send(published(sid), n=1)
        await send(published(sid), n=1)  # the same event again

        async def planned():
            return await rounds() == {"s3600": "planned", "s7200": "planned", f"due@{DUE.isoformat()}": "planned"}

        await eventually(planned)
        doc = await share()
        assert doc["reminder_offsets_s"] == [3600, 7200] and doc["revision"] == 1 and doc["status"] == "active"

        # Revision 2 asks to confirm again, with other reminders and another due time.
        due2 = DUE + timedelta(days=1)
        await send(revised(sid, 2, True, ("PT2H", "PT3H"), due2))
        await send(revised(sid, 2, True, ("PT2H", "PT3H"), due2))  # replayed
        await send(
            ShareBuiltOn(
                share_id=sid,
                author_id="ann",
                title="K",
                by_share_id="n1",
                by_author_id="bob",
                by_title="N",
                built_at=T0,
            )
        )
        await send(
            ShareBuiltOn(
                share_id=sid,
                author_id="ann",
                title="K",
                by_share_id="n1",
                by_author_id="bob",
                by_title="N",
                built_at=T0,
            )
        )  # the same pair again
        await send(
            ShareBuiltOn(
                share_id=sid,
                author_id="ann",
                title="K",
                by_share_id="n2",
                by_author_id="cat",
                by_title="M",
                built_at=T0,
            )
        )

        async def revised_twice():
            return (await share())["built_upon"] == 2

        await eventually(revised_twice)
        doc = await share()
        assert (doc["revision"], doc["confirm_revision"], doc["title"], doc["requires"]) == (
            2,
            2,
            "Kafka v2",
            "applied",
        )
        assert [r["revision"] for r in doc["revisions"]] == [1, 2] and doc["reminder_offsets_s"] == [7200, 10800]
        assert await rounds() == {
            "s3600": "cancelled",
            "s7200": "planned",
            "s10800": "planned",
            f"due@{DUE.isoformat()}": "cancelled",
            f"due@{due2.isoformat()}": "planned",
            "r2": "planned",
        }

        # Revision 3 does not ask to confirm again: the cycle stays, no re-confirmation round.
        await send(revised(sid, 3, False, ("PT2H", "PT3H"), due2))
        await send(ShareRetracted(share_id=other, author_id="ann", title="x", retracted_at=T0), key=other)
        await send(published(sid), n=1)  # an old event replayed after revisions: changes nothing

        async def third():
            return (await share())["revision"] == 3

        await eventually(third)
        doc = await share()
        assert (
            doc["confirm_revision"] == 2 and doc["reminder_offsets_s"] == [7200, 10800] and "r3" not in await rounds()
        )

        await send(ShareRetracted(share_id=sid, author_id="ann", title="Kafka", retracted_at=T0 + timedelta(days=1)))
        await send(ShareRetracted(share_id=sid, author_id="ann", title="Kafka", retracted_at=T0 + timedelta(days=2)))

        async def retracted():
            return (await share())["status"] == "retracted"

        await eventually(retracted)
        await eventually(lambda: _all_cancelled(rounds))
        assert (await share())["retracted_at"] == T0 + timedelta(days=1)  # the first retraction's time stays
    finally:
        await worker.stop()
        await producer.stop()
        await publisher.stop()


async def _all_cancelled(rounds) -> bool:
    return set((await rounds()).values()) == {"cancelled"}


async def test_acknowledgements_complete_per_requires_and_confirm_cycle(mongo, unique):
    db = mongo[f"learn_{unique}"]
    store = LearningStore(db)
    await store.ensure_indexes()
    sid = "s1"
    await store.states.published([new_share(sid, "ann", "T", None, (), T0, "learned")])
    await store.add_recipients([Bucket(f"{sid}|o0:0", sid, T0, ("bob", "cat", "dan"))])

    async def ack(user: str, kind: str) -> bool:
        share = await store.states.get(sid)
        assert share is not None
        return await in_transaction(mongo, lambda s: store.mark_progress(share, user, kind, T0, s))

    assert not await ack("bob", "opened")  # "learned" is required
    assert await ack("bob", "learned")
    assert not await ack("bob", "applied")  # completed already
    assert await ack("cat", "applied")  # applied completes learned too
    assert (await store.completed_count(sid, 1), await store.recipient_count(sid)) == (2, 3)

    # Revision 2 asks to confirm again: bob and cat are pending again, their revision-1 completions kept.
    await store.states.revised(sid, 2, {"title": "T2", "reminders": []}, T0 + timedelta(hours=1), True)
    assert await store.completed_count(sid, 2) == 0
    assert [i["share_id"] for i in await store.pending_for("bob", None, 10)] == [sid]
    assert (await store.pending_for("bob", None, 10))[0]["acknowledged"] == []  # a new cycle
    assert await ack("bob", "learned")  # completes again, for revision 2
    p = (await store.progress_of(sid, ["bob"]))["bob"]
    assert p["completed_revisions"] == [1, 2] and p["last_completed_revision"] == 2 and p["acknowledged"] == ["learned"]
    assert await store.pending_for("bob", None, 10) == []

    # Revision 3 without re-confirmation: completions stand.
    await store.states.revised(sid, 3, {"title": "T3", "reminders": []}, T0 + timedelta(hours=2), False)
    assert await store.completed_count(sid, 2) == 1
    assert sorted(await store.completion_lists(sid)) == [([1], 1), ([1, 2], 1)]

    # A retracted share leaves the learning list.
    assert [i["share_id"] for i in await store.pending_for("dan", None, 10)] == [sid]
    await store.states.retracted(sid, T0)
    assert await store.pending_for("dan", None, 10) == []


async def test_acknowledging_again_is_new_after_a_reconfirming_revision_and_events_say_what_completed(
    infra, mongo, make_topics, unique
):
    from learnloop_learn.domain.acknowledgements import AckIn, Outcome
    from learnloop_learn.storage.checks import CheckStore
    from learnloop_learn.usecases.acknowledging import Acknowledging
    from learnloop_shared.events import LearningAcknowledged, decode
    from learnloop_shared.outbox import Outbox

    from ..helpers import read_all

    settings = local_settings(ServiceSettings, infra, service_name="test", mongo_db=f"learn_{unique}")
    topic = f"acks-{unique}"
    await make_topics(topic)
    db = mongo[settings.mongo_db]
    store = LearningStore(db)
    await store.ensure_indexes()
    publisher = Publisher(settings)
    await publisher.start()
    outbox = Outbox(db, publisher)
    acknowledging = Acknowledging(store, CheckStore(db), outbox, topic, "/test")
    sid = "s1"
    await store.states.published([new_share(sid, "ann", "T", None, (), T0, "learned")])

    async def ack(kind: str, **extra) -> Outcome:
        share = await store.states.get(sid)
        assert share is not None
        return (await acknowledging.acknowledge(share, "bob", AckIn(kind=kind, **extra))).outcome

    try:
        assert await ack("opened") is Outcome.created
        assert await ack("learned") is Outcome.created
        assert await ack("learned") is Outcome.repeated
        await store.states.revised(sid, 2, {"title": "T2", "reminders": []}, T0 + timedelta(hours=1), True)
        assert await ack("learned") is Outcome.created  # a new confirm cycle: new
        assert await ack("rated", rating=5) is Outcome.created
        await store.states.revised(sid, 3, {"title": "T3", "reminders": []}, T0 + timedelta(hours=2), False)
        assert await ack("learned") is Outcome.repeated  # no re-confirmation: the same cycle
        records = await read_all(infra, topic, expect=4)
        events = [decode(r.value, {LearningAcknowledged.event_type: LearningAcknowledged}).data for r in records]
        assert [(e.kind, e.revision, e.completed) for e in events] == [
            ("opened", 1, False),
            ("learned", 1, True),
            ("learned", 2, True),
            ("rated", 2, False),
        ]
        assert events[2].acknowledgement_id == f"{sid}|bob|learned|c2"
        assert await db["acknowledgements"].count_documents({"share_id": sid, "cycle": 2}) == 2
    finally:
        await outbox.close()
        await publisher.stop()


async def test_progress_lists_every_recipient_once_across_buckets_and_pages(mongo, unique):
    from learnloop_learn.usecases.progress import ProgressReport

    db = mongo[f"learn_{unique}"]
    store = LearningStore(db)
    await store.ensure_indexes()
    sid = "s1"
    await store.states.published([new_share(sid, "ann", "T", None, (), T0, "learned", None, ["PT1H", "PT2H"])])
    share = await store.states.get(sid)
    assert share is not None
    await store.rounds.plan(share)
    users = [f"u{i:02d}" for i in range(7)]
    await store.add_recipients(
        [Bucket(f"{sid}|o0:0", sid, T0, tuple(users[:4])), Bucket(f"{sid}|o1:0", sid, T0, tuple(users[4:]))]
    )
    # The first reminder round started an hour in; u01 completed before it, u05 after it.
    await db["rounds"].update_one({"_id": f"{sid}|s3600"}, {"$set": {"started_at": T0 + timedelta(hours=1)}})
    for user, at in (("u01", T0 + timedelta(minutes=30)), ("u05", T0 + timedelta(minutes=90))):
        await in_transaction(mongo, lambda s, user=user, at=at: store.mark_progress(share, user, "learned", at, s))

    report = ProgressReport(store)
    seen, start = [], None
    while True:
        items, start = await report.page(share, start, 3, None)
        seen += items
        assert len(items) <= 3
        if start is None:
            break
    assert [i.user_id for i in seen] == users  # each once, in bucket order
    by_user = {i.user_id: i for i in seen}
    assert by_user["u01"].status == "completed" and by_user["u01"].reminders_sent == 0
    assert by_user["u05"].status == "completed" and by_user["u05"].reminders_sent == 1
    assert by_user["u00"].status == "pending" and by_user["u00"].reminders_sent == 1
    done, after = await report.page(share, None, 1, "completed")
    assert [i.user_id for i in done] == ["u01"] and after is not None
    rest, after = await report.page(share, after, 5, "completed")
    assert [i.user_id for i in rest] == ["u05"] and after is None
