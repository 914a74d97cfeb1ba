"""Shares: the request an author makes, its status, and the rules of its audience."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from learnloop_shared.events import CheckItem, utcnow
from learnloop_shared.events.contracts import MAX_CHECKS
from learnloop_shared.ids import Id
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    UrlConstraints,
    field_validator,
    model_validator,
)

from .schedule import MAX_REMINDERS, DueAt, Reminder, check_due, reminder_plan
from .topics import normalize_topic

Topic = Annotated[str, AfterValidator(normalize_topic)]
Url = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]
Requires = Literal["opened", "learned", "applied"]
"""What completes a share for a recipient: ``learned`` is also completed by ``applied``, ``opened`` by any
acknowledgement."""

MAX_NAMED = 10_000
MAX_BUILDS_ON = 20
DUE_AT_DOC = "RFC 3339 time with a time zone, in the future"
REMINDERS_DOC = "ISO 8601 durations after publication (P2D, PT4H; weeks to seconds, PT1S to P366D)"


class ShareStatus(StrEnum):
    accepted = "accepted"
    fanning_out = "fanning_out"
    delivered = "delivered"
    retracted = "retracted"


def _dedup(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _future(value: datetime | None) -> datetime | None:
    return check_due(value, utcnow())


def _in_order(reminders: list[str] | None) -> list[str] | None:
    """Earliest first, each offset once (``PT60S`` and ``PT1M`` are the same reminder)."""
    return None if reminders is None else reminder_plan(reminders)[0]


class AudienceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    users: list[Id] = Field(default_factory=list, max_length=MAX_NAMED)
    teams: list[Id] = Field(default_factory=list, max_length=1000)
    topics: list[Topic] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _not_empty(self) -> AudienceSpec:
        if not (self.users or self.teams or self.topics):
            raise ValueError("audience needs at least one of users, teams or topics")
        return self.model_copy(
            update={"users": _dedup(self.users), "teams": _dedup(self.teams), "topics": _dedup(self.topics)}
        )


class CheckDraft(CheckItem):
    """A knowledge-check question as an author writes it: the contract's :class:`CheckItem` (its limits and
    the rule that ``answer`` indexes one of the choices), refusing unknown keys like the rest of a draft."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckQuestion(BaseModel):
    """A knowledge-check question as anyone but the author (or a publishing system) sees it: no answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str
    choices: list[str]


class ShareDraft(BaseModel):
    """The body of ``POST /v1/shares`` (and of a share request from another system)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=300)
    summary: str | None = Field(None, max_length=5000)
    url: Url | None = None
    topics: list[Topic] = Field(default_factory=list, max_length=50)
    audience: AudienceSpec
    author_id: Id | None = None
    requires: Requires = Field("learned", description="What completes the share for a recipient")
    due_at: DueAt | None = Field(None, description=DUE_AT_DOC)
    reminders: list[Reminder] = Field(default_factory=list, max_length=MAX_REMINDERS, description=REMINDERS_DOC)
    builds_on: list[Id] = Field(
        default_factory=list,
        max_length=MAX_BUILDS_ON,
        description="Ids of shares this one builds on; unknown or retracted ones are reported in unknown_builds_on",
    )
    checks: list[CheckDraft] = Field(
        default_factory=list,
        max_length=MAX_CHECKS,
        description="A knowledge check: questions with 2 to 6 choices, answer = index of the right choice",
    )
    pass_mark: float = Field(1.0, gt=0, le=1, description="The share of check questions to get right to pass")
    max_attempts: int = Field(3, ge=1, le=20, description="Attempts a recipient has at the check")

    _due_in_future = field_validator("due_at")(_future)
    _reminders_in_order = field_validator("reminders")(_in_order)

    @field_validator("builds_on")
    @classmethod
    def _distinct(cls, ids: list[str]) -> list[str]:
        return _dedup(ids)

    def fingerprint(self, author_id: str) -> str:
        """Identifies the request, to tell an honest retry from a reused idempotency key.

        Fields added later count only when set, so a retry of a request made before they existed still
        matches the share it created.
        """
        body = self.model_dump(mode="json")
        for name, default in _LATER_DEFAULTS.items():
            if body[name] == default:
                del body[name]
        body["author_id"] = author_id
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


_LATER_DEFAULTS: dict[str, Any] = {
    "requires": "learned",
    "due_at": None,
    "reminders": [],
    "builds_on": [],
    "checks": [],
    "pass_mark": 1.0,
    "max_attempts": 3,
}


class Audience(BaseModel):
    """A stored share's audience: the users and teams the directory knew when it was accepted, and its
    topics. Unlike :class:`AudienceSpec` it may be empty (every named user or team was unknown)."""

    users: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)


class Share(BaseModel):
    """A share as the API shows it."""

    id: str
    author_id: str
    title: str
    summary: str | None = None
    url: str | None = None
    topics: list[str] = Field(default_factory=list)
    audience: Audience
    status: ShareStatus
    audience_size: int | None = None
    delivered: int = 0
    unknown_users: list[str] = Field(default_factory=list)
    unknown_teams: list[str] = Field(default_factory=list)
    created_at: datetime
    delivered_at: datetime | None = None
    requires: Requires = "learned"
    due_at: datetime | None = None
    reminders: list[str] = Field(default_factory=list)
    builds_on: list[str] = Field(default_factory=list, description="Known, unretracted shares it builds on")
    unknown_builds_on: list[str] = Field(
        default_factory=list, description="builds_on ids that did not exist or were retracted when it was published"
    )
    revision: int = 1
    retracted_at: datetime | None = None
    checks: list[CheckItem | CheckQuestion] = Field(
        default_factory=list,
        description="The knowledge check; the answers only for the author and publishing systems",
    )
    pass_mark: float = 1.0
    max_attempts: int = 3
    has_checks: bool = False

    def without_answers(self) -> Share:
        """The share with its check questions but never their answer key."""
        questions = [CheckQuestion(question=c.question, choices=list(c.choices)) for c in self.checks]
        return self.model_copy(update={"checks": questions})


PATCHABLE = ("title", "summary", "url", "topics", "due_at", "reminders")
NOT_NULL = ("title", "topics", "reminders")


class SharePatch(BaseModel):
    """The body of ``PATCH /v1/shares/{id}``: any of the fields below (at least one besides ``reconfirm``).

    ``summary``, ``url`` and ``due_at`` may be null to clear them. With ``reconfirm`` (default true) every
    recipient who had completed the share must complete it again for the new revision.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = Field(None, min_length=1, max_length=300)
    summary: str | None = Field(None, max_length=5000)
    url: Url | None = None
    topics: list[Topic] | None = Field(None, max_length=50)
    due_at: DueAt | None = Field(None, description=DUE_AT_DOC + "; null clears it")
    reminders: list[Reminder] | None = Field(None, max_length=MAX_REMINDERS, description=REMINDERS_DOC)
    reconfirm: bool = True

    _due_in_future = field_validator("due_at")(_future)
    _reminders_in_order = field_validator("reminders")(_in_order)

    @model_validator(mode="after")
    def _something_changes(self) -> SharePatch:
        if not self.changed():
            raise ValueError(f"a revision needs at least one of {', '.join(PATCHABLE)}")
        for name in NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changed(self) -> tuple[str, ...]:
        """The fields this revision sets, in a fixed order."""
        return tuple(name for name in PATCHABLE if name in self.model_fields_set)


class DerivedShare(BaseModel):
    """A share that builds on another (``GET /v1/shares/{id}/derived``)."""

    share_id: str
    title: str
    author_id: str
    created_at: datetime
