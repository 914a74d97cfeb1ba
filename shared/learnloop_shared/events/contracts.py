"""Event payloads exchanged between the services. One class per event type, past tense."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from .envelope import EventData

AckKind = Literal["opened", "learned", "applied", "rated", "question"]


class Audience(EventData):
    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


class ShareRequested(EventData):
    """Another system asks for a share (topic ``learnloop.share-requests``; binary or structured mode).

    Data: the body of ``POST /v1/shares`` plus the ``author_id`` the share is published for.
    """

    event_type: ClassVar[str] = "io.learnloop.share.requested.v1"

    author_id: str = Field(min_length=1)
    title: str
    summary: str | None = None
    url: str | None = None
    topics: tuple[str, ...] = ()
    audience: Audience


class SharePublished(EventData):
    """A share was accepted; its audience is still to be resolved."""

    event_type: ClassVar[str] = "io.learnloop.share.published.v1"

    share_id: str
    author_id: str
    title: str
    summary: str | None = None
    url: str | None = None
    topics: tuple[str, ...] = ()
    audience: Audience = Field(default_factory=Audience)
    published_at: datetime


class ShareDelivered(EventData):
    """One recipient of a share was resolved: one event per (share, recipient)."""

    event_type: ClassVar[str] = "io.learnloop.share.delivered.v1"

    share_id: str
    recipient_id: str
    author_id: str
    title: str
    summary: str | None = None
    url: str | None = None
    topics: tuple[str, ...] = ()
    published_at: datetime


class LearningAcknowledged(EventData):
    """A recipient acknowledged a share (opened, learned, applied, rated or asked a question)."""

    event_type: ClassVar[str] = "io.learnloop.learning.acknowledged.v1"

    acknowledgement_id: str
    share_id: str
    author_id: str
    recipient_id: str
    title: str
    kind: AckKind
    rating: int | None = Field(default=None, ge=1, le=5)
    text: str | None = None
    replaced: bool = False
    acknowledged_at: datetime


class NotificationCreated(EventData):
    """Sent to webhooks (Standard Webhooks signed, CloudEvents structured JSON) when a notification is created."""

    event_type: ClassVar[str] = "io.learnloop.notification.created.v1"

    notification_id: str
    user_id: str
    kind: str
    share_id: str
    title: str
    text: str
    url: str | None = None
    created_at: datetime


class EventDeadLettered(EventData):
    """Written to the dead-letter topic with the original bytes (base64) and the reason.

    ``original_size`` and ``sha256`` describe the original value. When the whole of it would not fit in
    one produce request, ``value_b64`` holds only its first bytes, ``truncated`` is true and the reason
    says so; the key and headers are then dropped too if they alone would not fit.
    """

    event_type: ClassVar[str] = "io.learnloop.event.deadlettered.v1"

    reason: str
    consumer: str
    topic: str
    partition: int
    offset: int
    key_b64: str | None = None
    value_b64: str
    headers: dict[str, str] = Field(default_factory=dict)
    original_size: int | None = None  # bytes of the original value (absent in older dead letters)
    sha256: str | None = None  # hex SHA-256 of the original value
    truncated: bool = False


ALL_EVENTS: tuple[type[EventData], ...] = (
    ShareRequested,
    SharePublished,
    ShareDelivered,
    LearningAcknowledged,
    NotificationCreated,
    EventDeadLettered,
)
EVENT_TYPES: dict[str, type[EventData]] = {cls.event_type: cls for cls in ALL_EVENTS}
