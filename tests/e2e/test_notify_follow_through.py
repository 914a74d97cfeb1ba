"""notify's part of follow-through, end to end over HTTP.

The first tests produce learn's and share's follow-through events (``LearningReminded``, ``ShareRevised``,
``ShareRetracted``) straight onto the stack's topics, as learn and share do, and read the results over
notify's HTTP API: inbox, unread count, live stream and webhooks. The ``*_over_http_only`` tests drive
the whole loop through share's and learn's HTTP APIs (due dates and reminders, PATCH, DELETE, builds_on,
answers); they skip themselves while those routes are not served yet.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from learnloop_shared.events import EventData, LearningReminded, ShareRetracted, ShareRevised, encode, make_event
from learnloop_shared.settings import Topics

from ..helpers import eventually
from .test_loop import directory, inbox
from .test_notify_live import next_event
from .test_webhooks import put_hook, receiver  # noqa: F401  (the receiver fixture)

TOPICS = Topics()


async def produce(stack: Any, topic: str, data: EventData, key: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.infra.bootstrap)
    await producer.start()
    try:
        event = make_event(data, source="/test/e2e", event_id=uuid.uuid4().hex)
        await producer.send_and_wait(topic, encode(event), key=key.encode())
    finally:
        await producer.stop()


def reminded(share: str, step: str, users: list[str], topics: tuple[str, ...] = (), **kw: Any) -> LearningReminded:
    return LearningReminded(
        round_id=f"{share}|{step}",
        share_id=share,
        author_id=kw.pop("author_id", "someone"),
        title=kw.pop("title", "Follow me through"),
        url="https://wiki.example.com/ft",
        topics=topics,
        due_at=kw.pop("due_at", datetime(2030, 1, 2, 17, 0, tzinfo=UTC)),
        reason=kw.pop("reason", "scheduled"),
        recipient_ids=tuple(users),
        reminded_at=datetime.now(UTC),
        **kw,
    )


async def items(api: Any, user: str, **params: Any) -> list[dict[str, Any]]:
    return (await inbox(api, user, limit=200, **params))["items"]


async def test_a_reminder_reaches_inbox_stream_and_webhook_once_and_muted_ones_stay_hidden(
    api,
    stack,
    unique,
    receiver,  # noqa: F811
):
    bob, carol = f"bob-{unique}", f"carol-{unique}"
    share = f"ft-{unique}"
    topic = f"t{unique}.kafka"
    await put_hook(api, bob, f"rem-{unique}", receiver.url(f"rem-{unique}"), events=("reminder",))
    await put_hook(api, carol, f"rem-{unique}", receiver.url(f"carol-{unique}"), events=("reminder",))
    r = await api.notify.put("/v1/me/preferences", json={"muted_topics": [topic]}, headers=api.auth(carol))
    assert r.status_code == 200, r.text

    async with api.notify.stream("GET", "/v1/notifications/stream", headers=api.auth(bob), timeout=30) as r:
        assert r.status_code == 200
        lines = r.aiter_lines()
        await asyncio.sleep(0.3)
        batch = reminded(share, "s3", [bob, carol], topics=(topic,))
        await produce(stack, TOPICS.acknowledgements, batch, share)
        ev = await next_event(lines, timeout=20)
        assert ev["event"] == "notification" and ev["data"]["kind"] == "reminder"
        assert ev["data"]["text"] == "Reminder: “Follow me through” is due 2030-01-02 17:00 UTC"

    await produce(stack, TOPICS.acknowledgements, batch, share)  # the batch sent again: nothing new
    await produce(stack, TOPICS.acknowledgements, reminded(share, "s9", [bob]), share)  # a later step

    async def two() -> list[dict[str, Any]]:
        got = [n for n in await items(api, bob) if n["share_id"] == share]
        return got if len(got) == 2 else []

    got = await eventually(two, timeout=30)
    assert [n["kind"] for n in got] == ["reminder", "reminder"]
    assert await items(api, carol) == []  # muted topic: stored hidden
    [hidden] = await items(api, carol, include_muted="true")
    assert hidden["kind"] == "reminder"

    async def delivered() -> list[dict[str, Any]]:
        return [] if len(receiver.verified(f"rem-{unique}")) < 2 else receiver.verified(f"rem-{unique}")

    hooks = await eventually(delivered, timeout=30)
    await asyncio.sleep(1)  # a duplicate would have been queued together with the first
    assert len(receiver.verified(f"rem-{unique}")) == 2
    assert {h["data"]["kind"] for h in hooks} == {"reminder"}
    assert receiver.verified(f"carol-{unique}") == []  # hidden: never pushed


async def test_revised_and_retracted_shares_over_the_shares_topic(api, stack, unique):
    bob = f"bob-{unique}"
    live, gone = f"ftl-{unique}", f"ftg-{unique}"
    await produce(stack, TOPICS.acknowledgements, reminded(live, "s1", [bob], title="Old title"), live)
    await produce(stack, TOPICS.acknowledgements, reminded(gone, "s1", [bob]), gone)

    async def both() -> bool:
        return len(await items(api, bob)) == 2

    await eventually(both, timeout=30)
    now = datetime.now(UTC)
    revised = ShareRevised(
        share_id=live,
        author_id="someone",
        revision=2,
        title="New title",
        url="https://wiki.example.com/v2",
        published_at=now,
        revised_at=now,
        changed=("title", "url"),
        reconfirm=False,
    )
    await produce(stack, TOPICS.shares, revised, live)
    retracted = ShareRetracted(share_id=gone, author_id="someone", title="Follow me through", retracted_at=now)
    await produce(stack, TOPICS.shares, retracted, gone)

    async def joined() -> bool:
        shown = await items(api, bob)
        assert [(n["share_id"], n["title"], n["url"]) for n in shown] == [
            (live, "New title", "https://wiki.example.com/v2")
        ]
        return True

    await eventually(joined, timeout=30)
    unread = (await api.notify.get("/v1/notifications/unread-count", headers=api.auth(bob))).json()["unread"]
    assert unread == 1
    marked = {n["share_id"]: n["retracted_at"] for n in await items(api, bob, include_retracted="true")}
    assert marked[live] is None and marked[gone] is not None


async def test_a_reminder_in_quiet_hours_waits_for_their_end(api, stack, unique):
    dave = f"dave-{unique}"
    share = f"ftq-{unique}"
    now = datetime.now(UTC)
    quiet = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M:%S"),
        "end": (now + timedelta(seconds=5)).strftime("%H:%M:%S"),
        "timezone": "UTC",
    }
    r = await api.notify.put("/v1/me/preferences", json={"quiet_hours": quiet}, headers=api.auth(dave))
    assert r.status_code == 200, r.text
    async with api.notify.stream("GET", "/v1/notifications/stream", headers=api.auth(dave), timeout=40) as r:
        lines = r.aiter_lines()
        await asyncio.sleep(0.3)
        await produce(stack, TOPICS.acknowledgements, reminded(share, "s1", [dave]), share)
        await asyncio.sleep(1.5)
        assert await items(api, dave) == []  # held (the release is at least 3 s away)
        ev = await next_event(lines, timeout=30)
    assert ev["data"]["share_id"] == share and ev["data"]["kind"] == "reminder"
    assert datetime.now(UTC) >= now + timedelta(seconds=4)


# --- the whole loop over HTTP (needs share's and learn's follow-through parts) -------------------------
def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)  # parameter names do not matter


async def routes(api: Any, service: str) -> dict[str, set[str]]:
    doc = (await getattr(api, service).get("/openapi.json")).json()
    return {_shape(path): set(ops) for path, ops in doc["paths"].items()}


async def need(api: Any, service: str, path: str, method: str) -> None:
    if method not in (await routes(api, service)).get(_shape(path), set()):
        pytest.skip(f"{service} does not serve {method.upper()} {path} yet (issue 12)")


async def publish(api: Any, author: str, users: list[str], title: str, **extra: Any) -> str:
    body = {"title": title, "url": "https://wiki.example.com/a", "audience": {"users": users}, **extra}
    r = await api.share.post("/v1/shares", json=body, headers=api.auth(author))
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def acknowledge(api: Any, user: str, share: str, body: dict[str, Any]) -> dict[str, Any]:
    """Acknowledge once learn knows the user received the share (its deliveries consumer may lag notify's)."""

    async def done() -> dict[str, Any]:
        r = await api.learn.post(f"/v1/shares/{share}/acknowledgements", json=body, headers=api.auth(user))
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    return await eventually(done, timeout=30)


async def notified(api: Any, user: str, share: str, kind: str, count: int = 1, timeout: float = 40) -> list[dict]:
    async def check() -> list[dict]:
        got = [n for n in await items(api, user, include_retracted="true") if n["share_id"] == share]
        got = [n for n in got if n["kind"] == kind]
        assert len(got) <= count, got
        return got if len(got) == count else []

    return await eventually(check, timeout=timeout)


async def test_reminders_and_the_overdue_notice_over_http_only(api, unique):
    await need(api, "share", "/v1/shares/{share_id}", "patch")  # share knows due_at and reminders
    await need(api, "learn", "/v1/shares/{share_id}/reminders", "post")  # learn runs rounds
    ids = await directory(api, unique)
    alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
    due = datetime.now(UTC) + timedelta(seconds=12)
    sid = await publish(api, alice, [bob, carol], "Due soon", reminders=["PT6S"], due_at=due.isoformat())
    await notified(api, carol, sid, "share.delivered")
    await acknowledge(api, carol, sid, {"kind": "learned"})  # completed before the reminder step

    [reminder] = await notified(api, bob, sid, "reminder")
    assert reminder["text"].startswith("Reminder: “Due soon” is due ")
    [overdue] = await notified(api, alice, sid, "overdue")
    assert overdue["text"].startswith("1 of 2 have not learned “Due soon” (due ")
    assert [n for n in await items(api, carol) if n["kind"] == "reminder"] == []  # completed before the step


async def test_a_revision_shows_everywhere_and_asks_again_over_http_only(api, unique):
    await need(api, "share", "/v1/shares/{share_id}", "patch")
    await need(api, "learn", "/v1/shares/{share_id}/reminders", "post")  # learn runs the revision's round
    ids = await directory(api, unique)
    alice, bob = ids["alice"], ids["bob"]
    sid = await publish(api, alice, [bob], "First title")
    await notified(api, bob, sid, "share.delivered")
    await acknowledge(api, bob, sid, {"kind": "learned"})
    patch = {"title": "Second title", "url": "https://wiki.example.com/b"}
    r = await api.share.patch(f"/v1/shares/{sid}", json=patch, headers=api.auth(alice))
    assert r.status_code == 200, r.text

    [revised] = await notified(api, bob, sid, "share.revised")
    assert revised["text"] == "“Second title” was revised: please confirm again"

    async def current() -> bool:
        [delivered] = [n for n in await items(api, bob) if n["share_id"] == sid and n["kind"] == "share.delivered"]
        shown = (delivered["title"], delivered["url"]) == ("Second title", "https://wiki.example.com/b")
        return shown and "“Second title”" in delivered["text"] and "First title" not in delivered["text"]

    await eventually(current, timeout=30)


async def test_a_retracted_share_leaves_the_inbox_over_http_only(api, unique):
    await need(api, "share", "/v1/shares/{share_id}", "delete")
    ids = await directory(api, unique)
    alice, bob = ids["alice"], ids["bob"]
    sid = await publish(api, alice, [bob], "Soon gone")
    await notified(api, bob, sid, "share.delivered")
    r = await api.share.delete(f"/v1/shares/{sid}", headers=api.auth(alice))
    assert r.status_code == 200, r.text

    async def hidden() -> bool:
        return not [n for n in await items(api, bob) if n["share_id"] == sid]

    await eventually(hidden, timeout=30)
    [marked] = [n for n in await items(api, bob, include_retracted="true") if n["share_id"] == sid]
    assert marked["retracted_at"] is not None


async def test_building_on_a_share_tells_its_author_over_http_only(api, unique):
    await need(api, "share", "/v1/shares/{share_id}/derived", "get")
    ids = await directory(api, unique)
    alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
    base = await publish(api, alice, [bob], "Basics")
    await publish(api, bob, [carol], "Advanced", builds_on=[base])
    [built] = await notified(api, alice, base, "built_on")
    assert built["text"] == f"{bob} built on your share “Basics”: “Advanced”"


async def test_an_answer_reaches_the_asker_over_http_only(api, unique):
    await need(api, "learn", "/v1/shares/{share_id}/questions/{question_id}/answers", "post")
    ids = await directory(api, unique)
    alice, bob = ids["alice"], ids["bob"]
    sid = await publish(api, alice, [bob], "Ask me")
    await notified(api, bob, sid, "share.delivered")
    await acknowledge(api, bob, sid, {"kind": "question", "text": "Why keys?", "public": True})
    questions = (await api.learn.get(f"/v1/shares/{sid}/questions", headers=api.auth(alice))).json()["items"]
    [question] = [q for q in questions if q["text"] == "Why keys?"]
    r = await api.learn.post(
        f"/v1/shares/{sid}/questions/{question['id']}/answers", json={"text": "Ordering."}, headers=api.auth(alice)
    )
    assert r.status_code == 201, r.text
    [answer] = await notified(api, bob, sid, "answer")
    assert answer["text"].endswith(": Ordering.")
    assert not [n for n in await items(api, alice) if n["kind"] == "answer"]  # never the writer
