"""Users and teams of the directory, as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from .shares import Id, Topic


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    topics: list[Topic] = Field(default_factory=list, max_length=500)


class User(BaseModel):
    id: str
    name: str
    email: str | None = None
    topics: list[str] = Field(default_factory=list)
    updated_at: datetime


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    members: list[Id] = Field(default_factory=list, max_length=100_000)
    teams: list[Id] = Field(default_factory=list, max_length=1000, description="Nested teams")


class Team(BaseModel):
    id: str
    name: str
    members: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    updated_at: datetime
