"""notify's follow-through notifications over fakes: texts, ids, hidden and held rules, the read-time join."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from learnloop_notify.domain.notifications import (
    KINDS,
    Notification,
    for_answers,
    for_built_on,
    for_overdue,
    for_reminders,
    overdue_text,
    reminder_id,
    to_notification,
    with_share_state,
)
from learnloop_notify.domain.preferences import ChannelKinds, Preferences, QuietHours, quiet_until
from learnloop_notify.domain.webhooks import WebhookIn
from learnloop_notify.jobs.held import HeldReleaser
from learnloop_notify.usecases.reading import MAX_SCANNED, InboxView
from learnloop_notify.usecases.sink import NotificationSink
from learnloop_shared.events import LearningAnswered, LearningOverdue, LearningReminded, ShareBuiltOn
from pydantic import ValidationError

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def reminded(reason: str = "scheduled", due: datetime | None = DUE, users: tuple[str, ...] = ("u1", "u2")):
    return LearningReminded(
        round_id="s1|s60",
        share_id="s1",
        author_id="alice",
        title="Kafka basics",
        url="https://x.example/k",
        topics=("kafka",),
        due_at=due,
        reason=reason,  # type: ignore[arg-type]
        recipient_ids=users,
        reminded_at=AT,
    )


def test_reminder_texts_name_the_share_and_the_due_date():
    docs = for_reminders("e1", reminded(), AT)
    assert [d["user_id"] for d in docs] == ["u1", "u2"]
    assert {d["kind"] for d in docs} == {"reminder"}
    assert docs[0]["text"] == "Reminder: “Kafka basics” is due 2026-12-03 17:00 UTC"
    assert docs[0]["topics"] == ["kafka"] and docs[0]["url"] == "https://x.example/k"
    assert for_reminders("e1", reminded(due=None), AT)[0]["text"] == "Reminder: “Kafka basics” is waiting for you"
    revised = for_reminders("e1", reminded("revised"), AT)
    assert {d["kind"] for d in revised} == {"share.revised"}
    assert revised[0]["text"] == "“Kafka basics” was revised: please confirm again"


def test_reminder_ids_depend_on_round_and_recipient_only():
    first = for_reminders("e1", reminded(), AT)
    resent = for_reminders("e2", reminded(), AT + timedelta(minutes=5))  # the same batch sent again
    assert [d["_id"] for d in first] == [d["_id"] for d in resent]
    assert first[0]["_id"] == reminder_id("s1|s60", "u1") != reminder_id("s1|s120", "u1")
    assert len(for_reminders("e1", reminded(users=("u1", "u1", "u2")), AT)) == 2


def overdue(requires: str = "learned", due: datetime = DUE) -> LearningOverdue:
    return LearningOverdue(
        share_id="s1",
        author_id="alice",
        title="Kafka basics",
        requires=requires,  # type: ignore[arg-type]
        due_at=due,
        recipients=40,
        not_completed=12,
        at=DUE,
    )


@pytest.mark.parametrize("requires", ["opened", "learned", "applied"])
def test_overdue_text_uses_the_verb_of_what_completes(requires):
    assert overdue_text(overdue(requires)) == f"12 of 40 have not {requires} “Kafka basics” (due 2026-12-03 17:00 UTC)"


def test_overdue_is_one_per_share_and_due_time():
    a, b = for_overdue("e1", overdue(), AT), for_overdue("e2", overdue(), AT)
    assert a["_id"] == b["_id"] and a["user_id"] == "alice" and a["kind"] == "overdue"
    assert for_overdue("e1", overdue(due=DUE + timedelta(days=1)), AT)["_id"] != a["_id"]


def test_answers_go_to_the_thread_but_not_the_writer():
    a = LearningAnswered(
        answer_id="an1",
        question_id="q1",
        share_id="s1",
        author_id="alice",
        title="Kafka basics",
        asked_by="bob",
        answered_by="alice",
        text="Use keys. " * 200,
        notify=("bob", "carol", "bob", "alice"),
        answered_at=AT,
    )
    docs = for_answers("e1", a, AT)
    assert [d["user_id"] for d in docs] == ["bob", "carol"]
    assert docs[0]["kind"] == "answer" and docs[0]["from"] == "alice"
    assert docs[0]["text"].startswith("alice answered a question about “Kafka basics”: Use keys.")
    assert len(docs[0]["text"]) < 1100 and docs[0]["text"].endswith("…")
    assert docs[0]["_id"] != docs[1]["_id"] and docs[0]["_id"] == for_answers("e9", a, AT)[0]["_id"]


def test_built_on_goes_to_the_referenced_share_author_about_their_share():
    b = ShareBuiltOn(
        share_id="s1",
        author_id="alice",
        title="X",
        by_share_id="s2",
        by_author_id="bob",
        by_title="Y",
        built_at=AT,
    )
    doc = for_built_on("e1", b, AT)
    assert doc["user_id"] == "alice" and doc["share_id"] == "s1" and doc["kind"] == "built_on"
    assert doc["text"] == "bob built on your share “X”: “Y”"
    assert doc["_id"] == for_built_on("e2", b, AT)["_id"]


def test_every_kind_has_a_channel_switch_and_a_webhook_event():
    kinds = ChannelKinds()
    assert all(kinds.allows(k) for k in KINDS)
    off = ChannelKinds.model_validate({k: False for k in KINDS})
    assert not any(off.allows(k) for k in KINDS)
    assert set(ChannelKinds().model_dump(by_alias=True)) == set(KINDS)
    stored_before = Preferences.model_validate({"channels": {"inbox": {"share.delivered": True, "feedback": False}}})
    assert stored_before.channels.inbox.allows("reminder") and not stored_before.channels.inbox.allows("feedback")
    hook = WebhookIn(url="https://hooks.example.com/x", events=list(KINDS), secret=SECRET)
    assert hook.events == list(KINDS)
    with pytest.raises(ValidationError):
        WebhookIn(url="https://hooks.example.com/x", events=["reminders"], secret=SECRET)  # type: ignore[list-item]


def test_quiet_hours_end_at_the_second_written():
    """Before, the end's seconds were dropped: in 07:00:00-07:00:30 the quiet hours 'ended' a day later."""
    p = Preferences(quiet_hours=QuietHours(start=time(6, 59, 50), end=time(7, 0, 30)))
    now = datetime(2026, 1, 1, 7, 0, 10, tzinfo=UTC)
    assert quiet_until(p, now) == datetime(2026, 1, 1, 7, 0, 30, tzinfo=UTC)


def test_notification_shows_the_current_title_and_retraction():
    doc = {
        "_id": "n1",
        "kind": "reminder",
        "share_id": "s1",
        "title": "Old",
        "text": "Reminder: “Old”",
        "url": "https://old",
        "created_at": AT,
    }
    assert with_share_state(doc, None) is doc
    assert to_notification(doc).retracted_at is None
    shown = with_share_state(doc, {"_id": "s1", "title": "New", "url": None, "revision": 2})
    assert (shown["title"], shown["url"], doc["title"]) == ("New", None, "Old")
    assert shown["text"] == "Reminder: “New”" and doc["text"] == "Reminder: “Old”"  # never a stale copy
    gone = with_share_state(doc, {"_id": "s1", "retracted_at": AT})
    assert gone["title"] == "Old" and to_notification(gone).retracted_at == AT
    assert Notification.model_json_schema()["properties"]["kind"]["enum"] == list(KINDS)


# --- the sink: hidden and held -----------------------------------------------------------------------
class Inbox:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def add(self, docs: list[dict[str, Any]]) -> int:
        new = [d for d in docs if d["_id"] not in self.docs]
        self.docs.update({d["_id"]: d for d in new})
        return len(new)


class Prefs:
    def __init__(self, prefs: dict[str, Preferences]) -> None:
        self.prefs = prefs

    async def for_users(self, users: Any) -> dict[str, Preferences]:
        return {u: self.prefs[u] for u in set(users) if u in self.prefs}


class Hooks:
    async def for_owners(self, users: Any) -> dict[str, Any]:
        return {}


class Held:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def hold(self, docs: list[dict[str, Any]]) -> int:
        new = [d for d in docs if d["_id"] not in self.docs]
        self.docs.update({d["_id"]: d for d in new})
        return len(new)

    async def due(self, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
        return [d for d in self.docs.values() if d["release_at"] <= now][:limit]

    async def remove(self, ids: list[str]) -> None:
        for i in ids:
            self.docs.pop(i, None)


def always_quiet() -> Preferences:
    return Preferences(quiet_hours=QuietHours(start=time(0), end=time(23, 59, 59)))


async def test_reminders_in_quiet_hours_are_held_muted_ones_stored_hidden_others_at_once():
    inbox, held = Inbox(), Held()
    prefs = {
        "u1": always_quiet(),
        "u2": Preferences(quiet_hours=always_quiet().quiet_hours, muted_topics=["kafka"]),
    }
    sink = NotificationSink(inbox, Prefs(prefs), Hooks(), "/t", held)  # type: ignore[arg-type]
    stored = await sink.store(for_reminders("e1", reminded(users=("u1", "u2", "u3")), AT))
    assert stored == 2 and set(held.docs) == {reminder_id("s1|s60", "u1")}
    assert {d["user_id"]: d.get("hidden", False) for d in inbox.docs.values()} == {"u2": True, "u3": False}
    assert next(iter(held.docs.values()))["release_at"] > AT
    deliveries = [
        {
            "_id": "n9",
            "user_id": "u1",
            "kind": "share.delivered",
            "share_id": "s1",
            "title": "T",
            "text": "t",
            "created_at": AT,
        }
    ]
    assert await sink.store(deliveries) == 1  # quiet hours hold reminders, not deliveries

    again = await sink.store(for_reminders("e2", reminded(users=("u1",)), AT))  # a replay while held
    assert again == 0 and len(held.docs) == 1


async def test_released_notifications_are_stored_once_and_stamped_with_the_release_time():
    inbox, held = Inbox(), Held()
    sink = NotificationSink(inbox, Prefs({"u1": always_quiet()}), Hooks(), "/t", held)  # type: ignore[arg-type]
    await sink.store(for_reminders("e1", reminded(users=("u1",)), AT))
    [doc] = held.docs.values()
    doc["release_at"] = datetime(2026, 1, 1, tzinfo=UTC)  # quiet hours over
    releaser = HeldReleaser(held, sink)  # type: ignore[arg-type]
    assert await releaser.release_due() == 1 and held.docs == {}
    [note] = inbox.docs.values()
    assert "release_at" not in note and note["created_at"] != AT  # the release time
    held.docs[doc["_id"]] = doc  # a second worker read it before the first removed it
    await releaser.release_due()
    assert len(inbox.docs) == 1


# --- the read-time join ------------------------------------------------------------------------------
class PagedInbox:
    """Newest first by (created_at, _id), like storage.inbox.Inbox.page."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = sorted(docs, key=lambda d: (d["created_at"], d["_id"]), reverse=True)
        self.reads = 0

    async def page(self, user: str, unread: bool, after: Any, limit: int, include_hidden: bool) -> list[dict]:
        self.reads += 1
        rest = [d for d in self.docs if after is None or (d["created_at"], d["_id"]) < after]
        return rest[:limit]

    async def unread_by_share(self, user: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.docs:
            out[d["share_id"]] = out.get(d["share_id"], 0) + 1
        return out


class States:
    def __init__(self, states: dict[str, dict[str, Any]]) -> None:
        self.states = states

    async def current(self, ids: Any) -> dict[str, dict[str, Any]]:
        return {i: self.states[i] for i in ids if i in self.states}


def notes(n: int, share: str, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"_id": f"{share}-{i:05d}", "share_id": share, "title": "T", "created_at": AT + timedelta(seconds=start + i)}
        for i in range(n)
    ]


async def test_pages_skip_retracted_shares_and_refill():
    # newest first: 3 of s1, then 10 of the retracted s2, then 3 of s1 again
    docs = notes(3, "s1") + notes(10, "s2", start=100) + notes(3, "s1b", start=200)
    retracted = {"s2": {"_id": "s2", "retracted_at": AT}, "s1b": {"_id": "s1b", "title": "New", "revision": 2}}
    view = InboxView(PagedInbox(docs), States(retracted))  # type: ignore[arg-type]
    read = await view.page("u", False, None, 4)
    assert [d["share_id"] for d in read.docs] == ["s1b"] * 3 + ["s1"] * 2 and read.resume is None
    assert all(d["title"] == "New" for d in read.docs[:3])
    everything = await view.page("u", False, None, 100, include_retracted=True)
    assert len(everything.docs) == 16 and sum(1 for d in everything.docs if d.get("retracted_at")) == 10
    assert await view.unread_count("u") == 6


async def test_a_page_stops_after_max_scanned_and_says_where_to_go_on():
    docs = notes(3, "s1") + notes(MAX_SCANNED + 200, "gone", start=100)
    inbox = PagedInbox(docs)
    view = InboxView(inbox, States({"gone": {"_id": "gone", "retracted_at": AT}}))  # type: ignore[arg-type]
    read = await view.page("u", False, None, 50)
    assert read.docs == [] and read.resume is not None
    assert inbox.reads <= MAX_SCANNED // 51 + 1
    rest = await view.page("u", False, read.resume, 50)
    assert [d["share_id"] for d in rest.docs] == ["s1"] * 3 and rest.resume is None
