"""Event payloads exchanged between the services. One class per event type, past tense."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from .envelope import EventData

AckKind = Literal["opened", "learned", "applied", "rated", "question"]
Requires = Literal["opened", "learned", "applied"]
"""What completes a share for a recipient: ``learned`` is also completed by ``applied``, ``opened`` by any
acknowledgement."""
ReminderReason = Literal["scheduled", "manual", "revised"]
MAX_REMINDED_PER_EVENT = 1000


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
    requires: Requires = "learned"
    due_at: datetime | None = None
    reminders: tuple[str, ...] = ()  # ISO 8601 durations after publication ("P2D", "PT4H")
    builds_on: tuple[str, ...] = ()


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
    requires: Requires = "learned"
    due_at: datetime | None = None
    reminders: tuple[str, ...] = ()  # ISO 8601 durations after publication, as given
    builds_on: tuple[str, ...] = ()  # known, unretracted shares it builds on (see ShareBuiltOn)
    revision: int = 1


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
    requires: Requires = "learned"
    due_at: datetime | None = None
    revision: int = 1


class ShareRevised(EventData):
    """The author (or a publishing system) changed a share: the share as it is now, at ``revision``.

    ``changed`` names the fields the revision set. With ``reconfirm`` every recipient who had completed
    the share must complete it again for this revision.
    """

    event_type: ClassVar[str] = "io.learnloop.share.revised.v1"

    share_id: str
    author_id: str
    revision: int = Field(ge=2)
    title: str
    summary: str | None = None
    url: str | None = None
    topics: tuple[str, ...] = ()
    requires: Requires = "learned"
    due_at: datetime | None = None
    reminders: tuple[str, ...] = ()
    reconfirm: bool = True
    changed: tuple[str, ...] = ()
    published_at: datetime
    revised_at: datetime


class ShareRetracted(EventData):
    """The author (or a publishing system) retracted a share: no more deliveries, reminders or acknowledgements."""

    event_type: ClassVar[str] = "io.learnloop.share.retracted.v1"

    share_id: str
    author_id: str
    title: str
    retracted_at: datetime


class ShareBuiltOn(EventData):
    """A new share builds on an existing one: one event per referenced share, keyed by the referenced share.

    ``share_id``, ``author_id`` and ``title`` are the referenced share's; ``by_*`` the new share's.
    """

    event_type: ClassVar[str] = "io.learnloop.share.built_on.v1"

    share_id: str
    author_id: str
    title: str
    by_share_id: str
    by_author_id: str
    by_title: str
    built_at: datetime


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
    revision: int = 1  # the share's revision the acknowledgement was made for
    public: bool = False  # a question every recipient may read (kind "question" only)
    completed: bool = False  # this acknowledgement completed the share for the recipient (see Requires)


class LearningAnswered(EventData):
    """Someone answered a question about a share. ``notify`` is everyone in the thread (asker, author,
    earlier answerers) except the writer."""

    event_type: ClassVar[str] = "io.learnloop.learning.answered.v1"

    answer_id: str
    question_id: str
    share_id: str
    author_id: str
    title: str
    asked_by: str
    answered_by: str
    text: str
    public: bool = False
    notify: tuple[str, ...] = ()
    answered_at: datetime


class LearningReminded(EventData):
    """Recipients who have not completed a share are reminded (``reason`` ``scheduled`` or ``manual``), or
    recipients who had completed it are asked to confirm a new revision (``revised``).

    One event per batch of at most 1,000 recipients of one round; ``round_id`` names the round
    (share, step) and stays the same when a batch is sent again, so each (round, recipient) is notified once.
    """

    event_type: ClassVar[str] = "io.learnloop.learning.reminded.v1"

    round_id: str
    share_id: str
    author_id: str
    title: str
    url: str | None = None
    topics: tuple[str, ...] = ()
    requires: Requires = "learned"
    due_at: datetime | None = None
    revision: int = 1
    reason: ReminderReason
    recipient_ids: tuple[str, ...] = Field(min_length=1, max_length=MAX_REMINDED_PER_EVENT)
    reminded_at: datetime


class LearningOverdue(EventData):
    """A share's due time passed while some recipients had not completed it: one per (share, due time)."""

    event_type: ClassVar[str] = "io.learnloop.learning.overdue.v1"

    share_id: str
    author_id: str
    title: str
    topics: tuple[str, ...] = ()
    requires: Requires = "learned"
    due_at: datetime
    revision: int = 1
    recipients: int
    not_completed: int
    at: datetime


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
    ShareRevised,
    ShareRetracted,
    ShareBuiltOn,
    LearningAcknowledged,
    LearningAnswered,
    LearningReminded,
    LearningOverdue,
    NotificationCreated,
    EventDeadLettered,
)
EVENT_TYPES: dict[str, type[EventData]] = {cls.event_type: cls for cls in ALL_EVENTS}
