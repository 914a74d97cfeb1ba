"""Shares: the request an author makes, its status, and the rules of its audience."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from learnloop_shared.ids import Id
from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints, model_validator

from .topics import normalize_topic

Topic = Annotated[str, AfterValidator(normalize_topic)]

MAX_NAMED = 10_000


class ShareStatus(StrEnum):
    accepted = "accepted"
    fanning_out = "fanning_out"
    delivered = "delivered"


def _dedup(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


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


class ShareDraft(BaseModel):
    """The body of ``POST /v1/shares`` (and of a share request from another system)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=300)
    summary: str | None = Field(None, max_length=5000)
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)] | None = None
    topics: list[Topic] = Field(default_factory=list, max_length=50)
    audience: AudienceSpec
    author_id: Id | None = None

    def fingerprint(self, author_id: str) -> str:
        """Identifies the request, to tell an honest retry from a reused idempotency key."""
        body = self.model_dump(mode="json")
        body["author_id"] = author_id
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


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
