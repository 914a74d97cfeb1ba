"""Questions about a share and their answers: who may read and write what, and who is told. Pure, no I/O.

A question is an acknowledgement of kind ``question`` (its id is the acknowledgement id). It is public
(every recipient of the share may read and answer it) or private (only its asker and the share's author).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ANSWER_CHARS = 5000
MAX_ANSWERS_PER_QUESTION = 1000
ANSWERS_SHOWN = 100
"""Answers listed with each question: the latest ones, oldest first (``answers_total`` counts them all).
A page of questions stays bounded although a question may have up to :data:`MAX_ANSWERS_PER_QUESTION`."""


class AnswerIn(BaseModel):
    """An answer to a question (1–5000 characters, not only whitespace)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("an answer needs its text")
        return v


class Answer(BaseModel):
    id: str
    text: str
    from_: str = Field(serialization_alias="from")
    at: datetime

    model_config = ConfigDict(populate_by_name=True)


class QuestionItem(BaseModel):
    """A question with its answers: the latest 100 of them, oldest first (``answers_total`` counts all)."""

    id: str
    text: str
    from_: str = Field(serialization_alias="from")
    at: datetime
    public: bool
    answers: list[Answer]
    answers_total: int = Field(description="All answers to this question (at most 1,000)")

    model_config = ConfigDict(populate_by_name=True)


def may_read(user_id: str, author_id: str, asker_id: str, public: bool, is_recipient: bool) -> bool:
    """The author reads every question; a recipient reads public ones and their own."""
    return user_id in (author_id, asker_id) or (public and is_recipient)


def may_answer(user_id: str, author_id: str, asker_id: str, public: bool, is_recipient: bool) -> bool:
    """The author, the asker (a follow-up), and any recipient when the question is public: exactly
    those who may read the question."""
    return may_read(user_id, author_id, asker_id, public, is_recipient)


def thread_to_notify(
    asker_id: str, author_id: str, earlier_answerers: Iterable[str], writer_id: str
) -> tuple[str, ...]:
    """Everyone in the thread — asker, author, earlier answerers (in that order) — except the writer, each once."""
    seen: dict[str, None] = {}
    for user in (asker_id, author_id, *earlier_answerers):
        if user != writer_id:
            seen.setdefault(user, None)
    return tuple(seen)
