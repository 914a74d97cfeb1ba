"""Users and teams of the directory, as the API shows them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from learnloop_shared.events.contracts import MAX_TEAM_MANAGERS
from learnloop_shared.ids import Id
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from .shares import Topic

MAX_USERS_PER_SYNC = 1000
MAX_TEAM_MEMBERS = 50_000


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    topics: list[Topic] = Field(default_factory=list, max_length=500)


class UserSyncItem(UserIn):
    id: Id


class UsersSync(BaseModel):
    """A batch of users to create or replace at once (a directory sync)."""

    model_config = ConfigDict(extra="forbid")

    users: list[UserSyncItem] = Field(min_length=1, max_length=MAX_USERS_PER_SYNC)

    @model_validator(mode="after")
    def _unique_ids(self) -> UsersSync:
        repeated = sorted(i for i, n in Counter(u.id for u in self.users).items() if n > 1)
        if repeated:
            raise ValueError(f"each user may appear once per batch; repeated: {', '.join(repeated[:10])}")
        return self


class UsersSynced(BaseModel):
    created: int
    updated: int


class User(BaseModel):
    id: str
    name: str
    email: str | None = None
    topics: list[str] = Field(default_factory=list)
    updated_at: datetime


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    # 50,000 ids of at most 200 characters keep a team document near 11 MB, under MongoDB's 16 MB.
    members: list[Id] = Field(default_factory=list, max_length=MAX_TEAM_MEMBERS)
    teams: list[Id] = Field(default_factory=list, max_length=1000, description="Nested teams")
    managers: list[Id] = Field(
        default_factory=list,
        max_length=MAX_TEAM_MANAGERS,
        description="Users who may read learning reports for this team and the teams nested in it",
    )


class Team(BaseModel):
    id: str
    name: str
    members: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    managers: list[str] = Field(default_factory=list)
    updated_at: datetime


class Republished(BaseModel):
    """``POST /v1/directory/republish``: how many users and teams the directory has now (all to be re-sent)."""

    users: int
    teams: int
