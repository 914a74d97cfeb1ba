"""notify's follow-through consumers on the real broker and database: events produced straight onto its
topics, the inbox read over its HTTP API (in process, ``httpx.ASGITransport``)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from learnloop_notify.app import SERVICE as NOTIFY
from learnloop_notify.config import NotifySettings
from learnloop_shared.auth import issue_token
from learnloop_shared.events import (
    CheckItem,
    EventData,
    LearningAcknowledged,
    LearningAnswered,
    LearningChecked,
    LearningOverdue,
    LearningReminded,
    ShareBuiltOn,
    ShareDelivered,
    SharePublished,
    ShareRetracted,
    ShareRevised,
    encode,
    make_event,
)
from learnloop_shared.runtime import create_app
from learnloop_shared.settings import Topics

from ..helpers import eventually, local_settings, read_all

SECRET = "test-secret-that-is-long-enough-for-hs256"
NOW = datetime.now(UTC)


class Notify:
    def __init__(self, client: httpx.AsyncClient, producer: AIOKafkaProducer, topics: Topics, db: Any) -> None:
        self.client, self.producer, self.topics, self.db = client, producer, topics, db

    async def send(self, topic: str, data: EventData, key: str, event_id: str | None = None) -> None:
        event = make_event(data, source="/test", event_id=event_id or uuid.uuid4().hex)
        await self.producer.send_and_wait(topic, encode(event), key=key.encode())

    async def inbox(self, user: str, **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get("/v1/notifications", params={"limit": 200, **params}, headers=auth(user))
        assert r.status_code == 200, r.text
        return r.json()["items"]

    async def unread(self, user: str, **params: Any) -> int:
        r = await self.client.get("/v1/notifications/unread-count", params=params, headers=auth(user))
        return int(r.json()["unread"])


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, user, ())}"}


@contextlib.asynccontextmanager
async def notify_service(infra: Any, mongo: Any, tmp_path: Any, **overrides: Any) -> AsyncIterator[Notify]:
    u = uuid.uuid4().hex[:8]
    topics = Topics(
        shares=f"nf{u}.shares",
        deliveries=f"nf{u}.deliveries",
        acknowledgements=f"nf{u}.acks",
        share_requests=f"nf{u}.requests",
        dead_letters=f"nf{u}.dlq",
    )
    settings = local_settings(
        NotifySettings,
        infra,
        mongo_db=f"nf_{u}",
        topics=topics,
        kafka_group_prefix=f"nf-{u}",
        data_dir=tmp_path,
        auth_secret=SECRET,
        **{"held_poll_s": 0.2, **overrides},
    )
    app = create_app(NOTIFY, settings)
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        await producer.start()
        stack.push_async_callback(producer.stop)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notify", timeout=10)
        await stack.enter_async_context(client)
        yield Notify(client, producer, topics, mongo[f"nf_{u}"])


def reminded(share: str, round_id: str, users: tuple[str, ...], reason: str = "scheduled", **kw: Any):
    return LearningReminded(
        round_id=round_id,
        share_id=share,
        author_id="alice",
        title="Kafka basics",
        url="https://x.example/k",
        topics=("kafka",),
        due_at=NOW + timedelta(days=2),
        reason=reason,  # type: ignore[arg-type]
        recipient_ids=users,
        reminded_at=NOW,
        **kw,
    )


async def test_follow_through_events_become_notifications_once(infra, mongo, tmp_path):
    async with notify_service(infra, mongo, tmp_path) as n:
        acks, shares = n.topics.acknowledgements, n.topics.shares
        users = tuple(f"r{i}" for i in range(30))
        batch = reminded("sh1", "sh1|s60", users)
        await n.send(acks, batch, "sh1")
        await n.send(acks, batch, "sh1")  # the round's batch sent again (new event id): nothing new
        await n.send(acks, reminded("sh1", "sh1|r2", users[:2], "revised"), "sh1")
        overdue = LearningOverdue(
            share_id="sh1",
            author_id="alice",
            title="Kafka basics",
            requires="applied",
            due_at=NOW,
            recipients=40,
            not_completed=12,
            at=NOW,
        )
        await n.send(acks, overdue, "sh1")
        await n.send(acks, overdue, "sh1")
        answered = LearningAnswered(
            answer_id="an1",
            question_id="q1",
            share_id="sh1",
            author_id="alice",
            title="Kafka basics",
            asked_by="r0",
            answered_by="alice",
            text="Partition by key.",
            notify=("r0", "r1"),
            answered_at=NOW,
        )
        await n.send(acks, answered, "sh1")
        built = ShareBuiltOn(
            share_id="sh1",
            author_id="alice",
            title="Kafka basics",
            by_share_id="sh2",
            by_author_id="bob",
            by_title="Kafka in depth",
            built_at=NOW,
        )
        await n.send(shares, built, "sh1")
        await n.send(shares, built, "sh1")
        published = SharePublished(share_id="sh3", author_id="bob", title="Ignored", published_at=NOW)
        await n.send(shares, published, "sh3")

        async def all_there() -> bool:
            stored = await n.db["notifications"].count_documents({})
            return stored == 30 + 2 + 1 + 2 + 1

        await eventually(all_there, timeout=30)
        r0 = await n.inbox("r0")
        assert sorted(x["kind"] for x in r0) == ["answer", "reminder", "share.revised"]
        reminder = next(x for x in r0 if x["kind"] == "reminder")
        assert reminder["text"].startswith("Reminder: “Kafka basics” is due ") and reminder["retracted_at"] is None
        assert next(x for x in r0 if x["kind"] == "answer")["text"].endswith(": Partition by key.")
        [over] = [x for x in await n.inbox("alice") if x["kind"] == "overdue"]
        assert over["text"].startswith("12 of 40 have not applied “Kafka basics” (due ")
        [built_on] = [x for x in await n.inbox("alice") if x["kind"] == "built_on"]
        assert (
            built_on["share_id"] == "sh1"
            and built_on["text"] == "bob built on your share “Kafka basics”: “Kafka in depth”"
        )
        assert [x["kind"] for x in await n.inbox("r29")] == ["reminder"]
        assert await read_all(infra, n.topics.dead_letters, timeout_ms=1500) == []  # SharePublished ignored


async def test_revisions_show_the_current_title_and_retraction_hides(infra, mongo, tmp_path):
    async with notify_service(infra, mongo, tmp_path) as n:
        acks, shares = n.topics.acknowledgements, n.topics.shares
        await n.send(acks, reminded("sr1", "sr1|s5", ("bob",)), "sr1")
        await n.send(acks, reminded("sr2", "sr2|s5", ("bob",)), "sr2")
        await eventually(lambda: _count(n, "bob", 2), timeout=30)

        def revised(revision: int, title: str) -> ShareRevised:
            return ShareRevised(
                share_id="sr1",
                author_id="alice",
                revision=revision,
                title=title,
                url=f"https://x.example/v{revision}",
                published_at=NOW,
                revised_at=NOW,
                changed=("title", "url"),
            )

        await n.send(shares, revised(3, "Kafka, third take"), "sr1")
        await n.send(shares, revised(2, "Kafka, second take"), "sr1")  # older, arrives late: ignored

        async def current() -> bool:
            [item] = [x for x in await n.inbox("bob") if x["share_id"] == "sr1"]
            assert (item["title"], item["url"]) == ("Kafka, third take", "https://x.example/v3")
            return True

        await eventually(current, timeout=30)
        assert (await n.db["shares"].find_one({"_id": "sr1"}))["revision"] == 3
        assert await n.unread("bob") == 2

        at = NOW.replace(microsecond=0)
        retracted = ShareRetracted(share_id="sr1", author_id="alice", title="Kafka, third take", retracted_at=at)
        await n.send(shares, retracted, "sr1")

        async def hidden() -> bool:
            return [x["share_id"] for x in await n.inbox("bob")] == ["sr2"]

        await eventually(hidden, timeout=30)
        assert await n.unread("bob") == 1 and await n.unread("bob", include_retracted="true") == 2
        shown = {x["share_id"]: x for x in await n.inbox("bob", include_retracted="true")}
        assert datetime.fromisoformat(shown["sr1"]["retracted_at"]) == at and shown["sr2"]["retracted_at"] is None
        r = await n.client.post(f"/v1/notifications/{shown['sr1']['id']}/read", headers=auth("bob"))
        assert r.status_code == 200 and r.json()["retracted_at"] is not None


async def test_reminders_are_held_in_quiet_hours_and_hidden_when_muted(infra, mongo, tmp_path):
    async with notify_service(infra, mongo, tmp_path) as n:
        acks = n.topics.acknowledgements
        now = datetime.now(UTC)
        quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M:%S"), "timezone": "UTC"}
        quiet["end"] = (now + timedelta(seconds=4)).strftime("%H:%M:%S")
        r = await n.client.put("/v1/me/preferences", json={"quiet_hours": quiet}, headers=auth("qq"))
        assert r.status_code == 200, r.text
        r = await n.client.put("/v1/me/preferences", json={"muted_topics": ["kafka"]}, headers=auth("mm"))
        assert r.status_code == 200, r.text

        await n.send(acks, reminded("sq1", "sq1|s5", ("qq", "mm", "ok")), "sq1")
        await eventually(lambda: _count(n, "ok", 1), timeout=30)
        await eventually(lambda: n.db["held"].count_documents({"user_id": "qq"}), timeout=10)
        assert await n.inbox("qq") == []  # held while quiet
        assert await n.inbox("mm") == [] and len(await n.inbox("mm", include_muted="true")) == 1

        async def released() -> bool:
            return [x["kind"] for x in await n.inbox("qq")] == ["reminder"]

        await eventually(released, timeout=20)
        assert await n.db["held"].count_documents({}) == 0


async def _count(n: Notify, user: str, expected: int) -> bool:
    return len(await n.inbox(user)) == expected


async def test_workers_racing_to_release_held_notifications_store_each_once(infra, mongo, unique):
    """Two workers release the same due held notifications at once: each reaches the inbox and each
    webhook queue exactly once, and nothing stays held."""
    import asyncio

    from learnloop_notify.domain.notifications import for_reminders
    from learnloop_notify.domain.webhooks import WebhookIn
    from learnloop_notify.jobs.held import HeldReleaser
    from learnloop_notify.storage.held import HeldStore
    from learnloop_notify.storage.inbox import Inbox
    from learnloop_notify.storage.preferences import PreferenceStore
    from learnloop_notify.storage.webhooks import WebhookStore
    from learnloop_notify.usecases.sink import NotificationSink

    db = mongo[f"held_{unique}"]
    inbox, held, hooks = Inbox(db), HeldStore(db), WebhookStore(db)
    for repo in (inbox, held, hooks):
        await repo.ensure_indexes()
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    users = tuple(f"h{i:03d}" for i in range(300))
    for user in users[:20]:
        await hooks.put("ci", user, WebhookIn(url="https://hooks.example.com/x", events=["reminder"], secret=secret))
    past = datetime.now(UTC) - timedelta(seconds=1)
    docs = for_reminders("e1", reminded("sh", "sh|s1", users), datetime.now(UTC))
    await held.hold([{**d, "release_at": past} for d in docs])

    def worker() -> HeldReleaser:
        sink = NotificationSink(Inbox(db), PreferenceStore(db), WebhookStore(db), "/test", HeldStore(db))
        return HeldReleaser(HeldStore(db), sink, batch=50)

    await asyncio.gather(worker().release_due(), worker().release_due())
    assert await inbox.coll.count_documents({}) == 300
    assert sorted(await inbox.coll.distinct("user_id")) == list(users)
    assert await held.coll.count_documents({}) == 0
    assert await hooks.deliveries.count_documents({}) == 20


def checked(user: str, attempt: int, passed: bool) -> LearningChecked:
    return LearningChecked(
        attempt_id=f"sc1|{user}|a{attempt}",
        share_id="sc1",
        author_id="alice",
        recipient_id=user,
        title="Kafka quiz",
        attempt=attempt,
        score=1.0 if passed else 0.0,
        passed=passed,
        correct=(passed,),
        checked_at=NOW,
    )


async def test_passed_checks_are_counted_once_into_the_authors_digest(infra, mongo, tmp_path):
    """``learning.checked`` on the real broker: each pass counted once (a replayed event id adds nothing),
    failed attempts not reported, nothing dead-lettered. How many windows the digests fall into is not
    assumed: the passes are summed over every digest of the share."""
    async with notify_service(infra, mongo, tmp_path, digest_window_s=1, digest_poll_s=0.2) as n:
        acks = n.topics.acknowledgements
        await n.send(acks, checked("bob", 1, False), "sc1", event_id="chk-bob-1")
        await n.send(acks, checked("bob", 2, True), "sc1", event_id="chk-bob-2")
        await n.send(acks, checked("bob", 2, True), "sc1", event_id="chk-bob-2")  # redelivered
        await n.send(acks, checked("carol", 1, True), "sc1", event_id="chk-carol-1")
        opened = LearningAcknowledged(
            acknowledgement_id="ack-dan",
            share_id="sc1",
            author_id="alice",
            recipient_id="dan",
            title="Kafka quiz",
            kind="opened",
            acknowledged_at=NOW,
        )
        await n.send(acks, opened, "sc1", event_id="ack-dan")  # after the checks on the same partition

        def total(texts: list[str], what: str) -> int:
            return sum(int(m) for t in texts for m in re.findall(rf"(\d+) {what}", t))

        async def digested() -> list[str]:
            texts = [x["text"] for x in await n.inbox("alice") if x["share_id"] == "sc1"]
            if total(texts, "opened") < 1 or total(texts, "passed the check") < 2:
                return []
            return texts if await n.db["digests"].count_documents({"sent": False}) == 0 else []

        texts = await eventually(digested, timeout=30)
        assert (total(texts, "opened"), total(texts, "passed the check")) == (1, 2), texts
        assert all(t.startswith("“Kafka quiz”: ") for t in texts)
        assert await read_all(infra, n.topics.dead_letters, timeout_ms=1500) == []


async def test_notify_never_keeps_the_answer_key(infra, mongo, tmp_path):
    """A published share's knowledge check (questions and answer key, on ``learnloop.shares``) is skipped by
    notify; its delivery says only that there is a check. Nothing in notify's database holds a question,
    a choice or an answer."""
    async with notify_service(infra, mongo, tmp_path) as n:
        secret_q, secret_choice = "Which offset is committed? zq81", "the next one to read xk42"
        published = SharePublished(
            share_id="sk1",
            author_id="alice",
            title="Offsets",
            published_at=NOW,
            audience={"users": ("bob",)},  # type: ignore[arg-type]
            checks=(CheckItem(question=secret_q, choices=("the last read", secret_choice), answer=1),),
            pass_mark=1.0,
            max_attempts=2,
        )
        await n.send(n.topics.shares, published, "sk1")
        built = ShareBuiltOn(
            share_id="sk1",
            author_id="alice",
            title="Offsets",
            by_share_id="sk2",
            by_author_id="carol",
            by_title="More offsets",
            built_at=NOW,
        )
        await n.send(n.topics.shares, built, "sk1")  # same key: handled after the SharePublished
        delivered = ShareDelivered(
            share_id="sk1", recipient_id="bob", author_id="alice", title="Offsets", published_at=NOW, has_checks=True
        )
        await n.send(n.topics.deliveries, delivered, "sk1")

        await eventually(lambda: _count(n, "alice", 1), timeout=30)
        await eventually(lambda: _count(n, "bob", 1), timeout=30)
        [note] = await n.inbox("bob")
        assert note["has_checks"] is True and note["text"] == "alice shared “Offsets” with you (with a knowledge check)"
        assert not {"checks", "answer", "pass_mark", "max_attempts"} & set(note)
        for name in await n.db.list_collection_names():
            async for doc in n.db[name].find({}):
                dumped = repr(doc)
                assert "zq81" not in dumped and "xk42" not in dumped and "'checks'" not in dumped, (name, doc)
        assert await read_all(infra, n.topics.dead_letters, timeout_ms=1500) == []
