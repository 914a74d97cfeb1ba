"""Event payloads exchanged between the services. One class per event type, past tense."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .envelope import EventData

AckKind = Literal["opened", "learned", "applied", "rated", "question"]
Requires = Literal["opened", "learned", "applied"]
"""What completes a share for a recipient: ``learned`` is also completed by ``applied``, ``opened`` by any
acknowledgement."""
ReminderReason = Literal["scheduled", "manual", "revised"]
MAX_REMINDED_PER_EVENT = 1000
MAX_CHECKS = 10
MAX_CHECK_QUESTION = 1000
MAX_CHECK_CHOICE = 300
MAX_TEAM_MANAGERS = 100
MAX_NESTED_TEAMS = 1000
MAX_MEMBERS_PER_TEAM_EVENT = 2000


class CheckItem(EventData):
    """One question of a share's knowledge check: ``answer`` is the index of the right choice.

    The answer key travels only between the share service and learn (``share.requested`` and
    ``share.published``); it is never in a delivery, a notification or a recipient-facing response.
    """

    question: str = Field(min_length=1, max_length=MAX_CHECK_QUESTION)
    choices: tuple[str, ...] = Field(min_length=2, max_length=6)
    answer: int = Field(ge=0, le=5)

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> CheckItem:
        if any(not c or len(c) > MAX_CHECK_CHOICE for c in self.choices):
            raise ValueError(f"each choice must have 1 to {MAX_CHECK_CHOICE} characters")
        if self.answer >= len(self.choices):
            raise ValueError(f"answer {self.answer} is not the index of one of the {len(self.choices)} choices")
        return self


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
    checks: tuple[CheckItem, ...] = Field((), max_length=MAX_CHECKS)
    pass_mark: float = Field(1.0, gt=0, le=1)  # the share of check questions to get right
    max_attempts: int = Field(3, ge=1, le=20)


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
    checks: tuple[CheckItem, ...] = Field((), max_length=MAX_CHECKS)  # with the answer key: for learn only
    pass_mark: float = Field(1.0, gt=0, le=1)
    max_attempts: int = Field(3, ge=1, le=20)


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
    has_checks: bool = False  # the share has a knowledge check (never the questions or answers)


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
    statement_id: str | None = None  # the xAPI statement it came from (xAPI loop in), if any


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


class LearningChecked(EventData):
    """A recipient made an attempt at a share's knowledge check: one event per attempt.

    ``correct`` says, per question, whether this attempt got it right (never which choice was right).
    A passing attempt also records ``learned`` (a ``learning.acknowledged`` event of its own).
    """

    event_type: ClassVar[str] = "io.learnloop.learning.checked.v1"

    attempt_id: str
    share_id: str
    author_id: str
    recipient_id: str
    title: str
    attempt: int = Field(ge=1)
    score: float = Field(ge=0, le=1)
    passed: bool
    correct: tuple[bool, ...] = Field(max_length=MAX_CHECKS)
    revision: int = 1
    checked_at: datetime


class DirectoryUserChanged(EventData):
    """A user of the directory was created or changed (topic ``learnloop.directory``, keyed by user id).

    ``version`` goes up with every change of the user; a copy keeps the highest version it saw, so a
    replay or a republish of the same version changes nothing.
    """

    event_type: ClassVar[str] = "io.learnloop.directory.user_changed.v1"

    user_id: str
    name: str
    email: str | None = None
    version: int = Field(ge=1)
    changed_at: datetime


class DirectoryTeamChanged(EventData):
    """A team was created or changed (topic ``learnloop.directory``, keyed by team id).

    A team of up to 50,000 members does not fit one Kafka message, so its members come in ``parts``
    events of at most 2,000 members each (``part`` 0 to ``parts`` - 1), all with the same ``version``;
    every part repeats the name, nested teams and managers. A copy takes a version once it has all its
    parts, and keeps the highest complete version.
    """

    event_type: ClassVar[str] = "io.learnloop.directory.team_changed.v1"

    team_id: str
    name: str
    teams: tuple[str, ...] = Field((), max_length=MAX_NESTED_TEAMS)  # nested teams
    managers: tuple[str, ...] = Field((), max_length=MAX_TEAM_MANAGERS)
    members: tuple[str, ...] = Field((), max_length=MAX_MEMBERS_PER_TEAM_EVENT)  # this part's members
    members_total: int = Field(0, ge=0)
    part: int = Field(0, ge=0)
    parts: int = Field(1, ge=1)
    version: int = Field(ge=1)
    changed_at: datetime

    @model_validator(mode="after")
    def _part_in_range(self) -> DirectoryTeamChanged:
        if self.part >= self.parts:
            raise ValueError(f"part {self.part} is not below parts {self.parts}")
        return self


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
    LearningChecked,
    DirectoryUserChanged,
    DirectoryTeamChanged,
    NotificationCreated,
    EventDeadLettered,
)
EVENT_TYPES: dict[str, type[EventData]] = {cls.event_type: cls for cls in ALL_EVENTS}
