"""Notifications for recipients (new shares, reminders, revisions, answers) and authors (learning
feedback, overdue notices, shares built on theirs): pure construction, and the read-time view.

Every notification id is deterministic (derived from the event, or from the round and recipient), so a
redelivered or replayed event, or a batch a crashed round sends again, stores nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from learnloop_shared.documents import Doc
from learnloop_shared.events import (
    LearningAcknowledged,
    LearningAnswered,
    LearningOverdue,
    LearningReminded,
    ShareBuiltOn,
    ShareDelivered,
    stable_event_id,
)
from pydantic import BaseModel

Kind = Literal["share.delivered", "feedback", "reminder", "overdue", "share.revised", "answer", "built_on"]
KINDS: tuple[Kind, ...] = get_args(Kind)
HELD_IN_QUIET_HOURS: frozenset[str] = frozenset({"reminder", "overdue", "share.revised"})
"""Kinds that wait in ``held`` while their recipient is in quiet hours (others are stored at once and
only their webhooks wait)."""


class FeedNotResumable(Exception):
    """A live feed's resume position (``Last-Event-ID``) can no longer be resumed."""


class FeedEnded(Exception):
    """A live feed stopped delivering (the database connection failed)."""


class Notification(BaseModel):
    id: str
    kind: Kind
    share_id: str
    title: str
    text: str
    url: str | None = None
    created_at: datetime
    read_at: datetime | None = None
    retracted_at: datetime | None = None
    has_checks: bool = False  # the share has a knowledge check to pass (never its questions or answers)


def to_notification(doc: Doc) -> Notification:
    return Notification(
        id=doc["_id"],
        kind=doc["kind"],
        share_id=doc["share_id"],
        title=doc["title"],
        text=doc["text"],
        url=doc.get("url"),
        created_at=doc["created_at"],
        read_at=doc.get("read_at"),
        retracted_at=doc.get("retracted_at"),
        has_checks=bool(doc.get("has_checks", False)),
    )


def with_share_state(doc: Doc, state: Doc | None) -> Doc:
    """The notification as shown now: the share's current title and url once it was revised (in ``text``
    too, where it quotes the title it was created with), and ``retracted_at`` once it was retracted."""
    if state is None:
        return doc
    shown = dict(doc)
    if "revision" in state:
        shown["title"], shown["url"] = state["title"], state.get("url")
        if state["title"] != doc.get("title") and isinstance(doc.get("text"), str):
            shown["text"] = doc["text"].replace(_quote(doc["title"]), _quote(state["title"]), 1)
    if state.get("retracted_at") is not None:
        shown["retracted_at"] = state["retracted_at"]
    return shown


def _quote(title: str, limit: int = 120) -> str:
    return f"“{title if len(title) <= limit else title[: limit - 1] + '…'}”"


CHECK_NOTE = " (with a knowledge check)"


def for_delivery(event_id: str, d: ShareDelivered, now: datetime) -> Doc:
    """A new share for its recipient. Built field by field from the delivery, which says only *whether* the
    share has a knowledge check (``has_checks``): questions and answers never reach notify."""
    text = f"{d.author_id} shared {_quote(d.title)} with you"
    if d.has_checks:
        text += CHECK_NOTE
    if d.summary:
        text += f": {d.summary[:280]}"
    doc: Doc = {
        "_id": stable_event_id("notification", event_id),
        "user_id": d.recipient_id,
        "kind": "share.delivered",
        "share_id": d.share_id,
        "title": d.title,
        "text": text,
        "url": d.url,
        "topics": list(d.topics),
        "created_at": now,
        "read_at": None,
        "source_event_id": event_id,
    }
    if d.has_checks:
        doc["has_checks"] = True
    return doc


FEEDBACK_VERBS = {
    "opened": "opened",
    "learned": "learned from",
    "applied": "applied",
}


def feedback_text(a: LearningAcknowledged) -> str:
    who, what = a.recipient_id, _quote(a.title)
    if a.kind == "question":
        return f"{who} asked about {what}: {a.text}"
    if a.kind == "rated":
        return f"{who} rated {what} {a.rating}/5"
    return f"{who} {FEEDBACK_VERBS[a.kind]} {what}"


def for_feedback(event_id: str, a: LearningAcknowledged, now: datetime) -> Doc:
    return {
        "_id": stable_event_id("notification", event_id),
        "user_id": a.author_id,
        "kind": "feedback",
        "share_id": a.share_id,
        "title": a.title,
        "text": feedback_text(a),
        "feedback_kind": a.kind,
        "from": a.recipient_id,
        "created_at": now,
        "read_at": None,
        "source_event_id": event_id,
    }


def first_learner(event_id: str, a: LearningAcknowledged, now: datetime) -> Doc:
    doc = for_feedback(event_id, a, now)
    doc["text"] = f"Your share {_quote(a.title)} reached its first learner: {a.recipient_id}"
    return doc


def for_digest(bucket: Doc, text: str, now: datetime) -> Doc:
    return {
        "_id": stable_event_id("notification", "digest", bucket["_id"]),
        "user_id": bucket["author_id"],
        "kind": "feedback",
        "share_id": bucket["share_id"],
        "title": bucket["title"],
        "text": f"{_quote(bucket['title'])}: {text}",
        "feedback_kind": "digest",
        "created_at": now,
        "read_at": None,
        "source_event_id": f"digest:{bucket['_id']}",
    }


def _due(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def reminder_text(r: LearningReminded) -> str:
    if r.reason == "revised":
        return f"{_quote(r.title)} was revised: please confirm again"
    if r.due_at is not None:
        return f"Reminder: {_quote(r.title)} is due {_due(r.due_at)}"
    return f"Reminder: {_quote(r.title)} is waiting for you"


def reminder_id(round_id: str, recipient_id: str) -> str:
    """One per (round, recipient): a batch sent again after a crash, or replayed, adds nothing."""
    return stable_event_id("notification", "reminder", round_id, recipient_id)


def for_reminders(event_id: str, r: LearningReminded, now: datetime) -> list[Doc]:
    """One notification per recipient: ``reminder`` (scheduled, manual) or ``share.revised`` (revised)."""
    kind = "share.revised" if r.reason == "revised" else "reminder"
    text, topics = reminder_text(r), list(r.topics)
    return [
        {
            "_id": reminder_id(r.round_id, user),
            "user_id": user,
            "kind": kind,
            "share_id": r.share_id,
            "title": r.title,
            "text": text,
            "url": r.url,
            "topics": topics,
            "created_at": now,
            "read_at": None,
            "round_id": r.round_id,
            "source_event_id": event_id,
        }
        for user in dict.fromkeys(r.recipient_ids)
    ]


NOT_COMPLETED_VERBS = {"opened": "opened", "learned": "learned", "applied": "applied"}


def overdue_text(o: LearningOverdue) -> str:
    verb = NOT_COMPLETED_VERBS[o.requires]
    return f"{o.not_completed} of {o.recipients} have not {verb} {_quote(o.title)} (due {_due(o.due_at)})"


def for_overdue(event_id: str, o: LearningOverdue, now: datetime) -> Doc:
    """One per (share, due time), to the author."""
    return {
        "_id": stable_event_id("notification", "overdue", o.share_id, o.due_at.astimezone(UTC).isoformat()),
        "user_id": o.author_id,
        "kind": "overdue",
        "share_id": o.share_id,
        "title": o.title,
        "text": overdue_text(o),
        "topics": list(o.topics),
        "created_at": now,
        "read_at": None,
        "source_event_id": event_id,
    }


MAX_ANSWER_CHARS = 1000  # of the answer's text in the notification (answers may be up to 5,000)


def for_answers(event_id: str, a: LearningAnswered, now: datetime) -> list[Doc]:
    """One ``answer`` notification per user in ``notify`` (never the writer), with the answer's text."""
    body = a.text if len(a.text) <= MAX_ANSWER_CHARS else a.text[: MAX_ANSWER_CHARS - 1] + "…"
    text = f"{a.answered_by} answered a question about {_quote(a.title)}: {body}"
    return [
        {
            "_id": stable_event_id("notification", "answer", a.answer_id, user),
            "user_id": user,
            "kind": "answer",
            "share_id": a.share_id,
            "title": a.title,
            "text": text,
            "from": a.answered_by,
            "question_id": a.question_id,
            "created_at": now,
            "read_at": None,
            "source_event_id": event_id,
        }
        for user in dict.fromkeys(a.notify)
        if user != a.answered_by
    ]


def for_built_on(event_id: str, b: ShareBuiltOn, now: datetime) -> Doc:
    """To the referenced share's author; ``share_id`` is that (their own) share."""
    return {
        "_id": stable_event_id("notification", "built_on", b.share_id, b.by_share_id),
        "user_id": b.author_id,
        "kind": "built_on",
        "share_id": b.share_id,
        "title": b.title,
        "text": f"{b.by_author_id} built on your share {_quote(b.title)}: {_quote(b.by_title)}",
        "by_share_id": b.by_share_id,
        "from": b.by_author_id,
        "created_at": now,
        "read_at": None,
        "source_event_id": event_id,
    }
