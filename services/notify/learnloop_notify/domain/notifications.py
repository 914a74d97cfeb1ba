"""Notifications for recipients (new shares) and authors (learning feedback): pure construction."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from learnloop_shared.documents import Doc
from learnloop_shared.events import LearningAcknowledged, ShareDelivered, stable_event_id
from pydantic import BaseModel

Kind = Literal["share.delivered", "feedback"]


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
    )


def _quote(title: str, limit: int = 120) -> str:
    return f"“{title if len(title) <= limit else title[: limit - 1] + '…'}”"


def for_delivery(event_id: str, d: ShareDelivered, now: datetime) -> Doc:
    text = f"{d.author_id} shared {_quote(d.title)} with you"
    if d.summary:
        text += f": {d.summary[:280]}"
    return {
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
