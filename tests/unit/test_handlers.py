"""The main Kafka handlers and the use cases behind them, over fake stores (no broker, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from learnloop_learn.messaging.recipients import RecipientHandlers
from learnloop_learn.usecases.recipients import RecordRecipients
from learnloop_notify.domain.digests import Counted
from learnloop_notify.domain.preferences import Preferences
from learnloop_notify.messaging.notifier import NotifyHandlers
from learnloop_notify.usecases.notifier import Notifier
from learnloop_share.messaging.fanout import FanOutHandlers
from learnloop_share.messaging.requests import ShareRequestHandlers
from learnloop_share.usecases.publishing import Accepted, IdempotencyConflict
from learnloop_shared.events import (
    LearningAcknowledged,
    LearningChecked,
    LearningReminded,
    ShareDelivered,
    SharePublished,
    ShareRequested,
    ShareRetracted,
    ShareRevised,
    make_event,
)
from learnloop_shared.events.contracts import Audience
from learnloop_shared.kafka.consumers import RawMessage, Received

AT = datetime(2026, 1, 1, tzinfo=UTC)


def received(data: Any, n: int = 0, source: str = "/test") -> Received:
    return Received(make_event(data, source=source, event_id=f"e{n}"), RawMessage("t", 1, n, None, b"", []))


def delivered(n: int, share: str = "s1") -> ShareDelivered:
    return ShareDelivered(share_id=share, recipient_id=f"u{n}", author_id="a", title="T", published_at=AT)


def acknowledged(kind: str, n: int = 0) -> LearningAcknowledged:
    return LearningAcknowledged(
        acknowledgement_id=f"ack{n}",
        share_id="s1",
        author_id="a",
        recipient_id=f"u{n}",
        title="T",
        kind=kind,  # type: ignore[arg-type]
        text="why?" if kind == "question" else None,
        acknowledged_at=AT,
    )


# --- notify -----------------------------------------------------------------------------------------
class Sink:
    def __init__(self) -> None:
        self.stored: list[dict[str, Any]] = []

    async def store(self, docs: list[dict[str, Any]]) -> int:
        self.stored.extend(docs)
        return len(docs)


class Digests:
    def __init__(self) -> None:
        self.first_claimed: set[str] = set()
        self.counted: list[tuple[str, str]] = []

    async def claim_first_learner(self, a: LearningAcknowledged, event_id: str) -> bool:
        new = a.share_id not in self.first_claimed
        self.first_claimed.add(a.share_id)
        return new

    async def add(self, c: Counted, event_id: str, window: int, quiet: Any) -> None:
        self.counted.append((c.counter or "rated", event_id))


class Prefs:
    async def get(self, user_id: str) -> Preferences:
        return Preferences()


class ShareStates:
    def __init__(self) -> None:
        self.events: list[Any] = []

    async def revised(self, e: Any) -> None:
        self.events.append(e)

    async def retracted(self, e: Any) -> None:
        self.events.append(e)


def notify() -> tuple[NotifyHandlers, Sink, Digests]:
    sink, digests = Sink(), Digests()
    return NotifyHandlers(Notifier(sink, digests, Prefs(), 60, ShareStates())), sink, digests  # type: ignore[arg-type]


async def test_notify_one_notification_per_delivery_with_ids_from_event_ids():
    handlers, sink, _ = notify()
    await handlers.on_delivered([received(delivered(n), n) for n in range(3)])
    assert [d["user_id"] for d in sink.stored] == ["u0", "u1", "u2"]
    assert len({d["_id"] for d in sink.stored}) == 3
    again = Sink()
    await NotifyHandlers(Notifier(again, Digests(), Prefs(), 60, ShareStates())).on_delivered(  # type: ignore[arg-type]
        [received(delivered(n), n) for n in range(3)]
    )
    assert [d["_id"] for d in again.stored] == [d["_id"] for d in sink.stored]  # a replay stores nothing new


async def test_notify_questions_and_the_first_learner_at_once_the_rest_in_digests():
    handlers, sink, digests = notify()
    batch = [
        received(acknowledged("question", 0), 0),
        received(acknowledged("learned", 1), 1),
        received(acknowledged("learned", 2), 2),
        received(acknowledged("opened", 3), 3),
    ]
    await handlers.on_acknowledged(batch)
    assert len(sink.stored) == 2 and all(d["user_id"] == "a" for d in sink.stored)
    assert "why?" in sink.stored[0]["text"] and "first learner" in sink.stored[1]["text"]
    assert digests.counted == [("learned", "e2"), ("opened", "e3")]


def checked(n: int, passed: bool, attempt: int = 1) -> LearningChecked:
    return LearningChecked(
        attempt_id=f"s1|u{n}|a{attempt}",
        share_id="s1",
        author_id="a",
        recipient_id=f"u{n}",
        title="T",
        attempt=attempt,
        score=1.0 if passed else 0.5,
        passed=passed,
        correct=(True, passed),
        checked_at=AT,
    )


async def test_notify_counts_passed_checks_into_the_digest_and_says_nothing_of_failed_ones():
    handlers, sink, digests = notify()
    batch = [received(checked(1, False), 0), received(checked(1, True, 2), 1), received(checked(2, True), 2)]
    await handlers.on_checked(batch)
    assert sink.stored == []
    assert digests.counted == [("passed", "e1"), ("passed", "e2")]


async def test_notify_reminders_per_recipient_and_share_changes_to_the_share_state():
    sink, states = Sink(), ShareStates()
    handlers = NotifyHandlers(Notifier(sink, Digests(), Prefs(), 60, states))  # type: ignore[arg-type]
    event = LearningReminded(
        round_id="s1|s5",
        share_id="s1",
        author_id="a",
        title="T",
        reason="scheduled",
        recipient_ids=("u1", "u2"),
        reminded_at=AT,
    )
    await handlers.on_reminded([received(event, 0), received(event, 1)])  # sent twice: same ids
    assert [d["user_id"] for d in sink.stored] == ["u1", "u2", "u1", "u2"]
    assert len({d["_id"] for d in sink.stored}) == 2
    revised = ShareRevised(share_id="s1", author_id="a", revision=2, title="T2", published_at=AT, revised_at=AT)
    retracted = ShareRetracted(share_id="s1", author_id="a", title="T2", retracted_at=AT)
    await handlers.on_revised([received(revised, 2)])
    await handlers.on_retracted([received(retracted, 3)])
    assert states.events == [revised, retracted]


# --- learn ------------------------------------------------------------------------------------------
class LearningStore:
    def __init__(self) -> None:
        self.shares: list[dict[str, Any]] = []
        self.buckets: list[Any] = []

    async def upsert_shares(self, shares: list[dict[str, Any]]) -> None:
        self.shares.extend(shares)

    async def add_recipients(self, buckets: list[Any]) -> int:
        self.buckets.extend(buckets)
        return sum(len(b.users) for b in buckets)


async def test_learn_stores_each_share_once_per_batch_and_its_recipients_in_buckets():
    store = LearningStore()
    handlers = RecipientHandlers(RecordRecipients(store))  # type: ignore[arg-type]
    await handlers.on_delivered([received(delivered(n), n) for n in range(3)] + [received(delivered(9, "s2"), 9)])
    assert [s["_id"] for s in store.shares] == ["s1", "s2"]
    users = {b.share_id: set(b.users) for b in store.buckets}
    assert users == {"s1": {"u0", "u1", "u2"}, "s2": {"u9"}}
    assert store.shares[0]["revision"] == 1 and store.shares[0]["requires"] == "learned"


# --- share ------------------------------------------------------------------------------------------
class FanOut:
    def __init__(self) -> None:
        self.shares: list[str] = []

    async def fan_out(self, share_id: str) -> None:
        self.shares.append(share_id)


async def test_share_fans_out_each_published_share():
    fanout = FanOut()
    published = [
        SharePublished(share_id=f"s{n}", author_id="a", title="T", audience=Audience(), published_at=AT)
        for n in range(2)
    ]
    await FanOutHandlers(fanout).on_published([received(p, n) for n, p in enumerate(published)])  # type: ignore[arg-type]
    assert fanout.shares == ["s0", "s1"]


class Publishers:
    async def owner_of(self, source: str) -> str | None:
        return "crm" if source == "/crm" else None


class Intake:
    def __init__(self, conflict: bool = False) -> None:
        self.accepted: list[tuple[str, str | None]] = []
        self.drafts: list[Any] = []
        self.conflict = conflict

    async def accept(self, draft: Any, author_id: str, dedup: Any) -> Accepted:
        if self.conflict:
            raise IdempotencyConflict("reused")
        self.accepted.append((author_id, dedup.request_id))
        self.drafts.append(draft)
        return Accepted(share=type("S", (), {"id": "new"})(), created=True)  # type: ignore[arg-type]


def request(title: str = "Kafka") -> ShareRequested:
    return ShareRequested(author_id="alice", title=title, audience=Audience(users=("bob",)))


async def test_share_requests_from_registered_sources_are_accepted_others_rejected_with_the_reason():
    intake = Intake()
    handlers = ShareRequestHandlers(intake, Publishers())  # type: ignore[arg-type]
    rejected = await handlers.on_requested(
        [received(request(), 0, "/crm"), received(request(), 1, "/unknown"), received(request(""), 2, "/crm")]
    )
    assert intake.accepted == [("alice", "e0")]
    reasons = {r.item.message.offset: r.reason for r in rejected}
    assert reasons[1] == "source '/unknown' is not a registered publisher"
    assert reasons[2].startswith("invalid share request: title")


async def test_a_reused_request_id_is_rejected():
    handlers = ShareRequestHandlers(Intake(conflict=True), Publishers())  # type: ignore[arg-type]
    [rejected] = await handlers.on_requested([received(request(), 0, "/crm")])
    assert rejected.reason == "event id 'e0' from '/crm' was reused for another share"


async def test_share_requests_carry_the_follow_through_fields_with_the_same_rules():
    intake = Intake()
    handlers = ShareRequestHandlers(intake, Publishers())  # type: ignore[arg-type]
    base = request()
    ok = base.model_copy(
        update={
            "requires": "applied",
            "due_at": datetime(2999, 1, 1, tzinfo=UTC),
            "reminders": ("P1W", "PT3S"),
            "builds_on": ("s1", "s1", "s2"),
        }
    )
    past = base.model_copy(update={"due_at": datetime(2020, 1, 1, tzinfo=UTC)})
    monthly = base.model_copy(update={"reminders": ("P1M",)})
    rejected = await handlers.on_requested(
        [received(ok, 0, "/crm"), received(past, 1, "/crm"), received(monthly, 2, "/crm")]
    )
    [draft] = intake.drafts
    assert (draft.requires, draft.due_at, draft.reminders, draft.builds_on) == (
        "applied",
        datetime(2999, 1, 1, tzinfo=UTC),
        ["PT3S", "P7D"],
        ["s1", "s2"],
    )
    reasons = {r.item.message.offset: r.reason for r in rejected}
    assert reasons[1].startswith("invalid share request: due_at") and "future" in reasons[1]
    assert reasons[2].startswith("invalid share request: reminders.0")
