"""Registered publishers: other systems allowed to send share requests, identified by CloudEvents source."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SourceUri = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"^\S+$")]


class SourcesTaken(Exception):
    """Some of the sources are registered by another publisher."""

    def __init__(self, sources: list[str]) -> None:
        super().__init__("sources already registered by another publisher")
        self.sources = sources


class PublisherIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    sources: list[SourceUri] = Field(min_length=1, max_length=100, description="CloudEvents `source` URIs it sends")


class PublisherOut(BaseModel):
    id: str
    name: str
    sources: list[str]
    updated_at: datetime
