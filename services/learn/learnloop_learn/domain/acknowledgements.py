"""Acknowledgements and how they count: pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .checks import ChecksFeedback
from .follow_through import Requires, ack_cycle_suffix

AckKindName = Literal["opened", "learned", "applied", "rated", "question"]
ONCE_PER_RECIPIENT = frozenset({"opened", "learned", "applied"})
COMPLETES_LEARNING = frozenset({"learned", "applied"})


class AckIn(BaseModel):
    """Body of ``POST /v1/shares/{share_id}/acknowledgements``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AckKindName
    rating: int | None = Field(None, ge=1, le=5)
    text: str | None = Field(None, min_length=1, max_length=5000)
    public: bool = Field(False, description="A question every recipient may read and answer (kind 'question' only)")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> AckIn:
        if self.kind == "rated" and self.rating is None:
            raise ValueError("a 'rated' acknowledgement needs a rating from 1 to 5")
        if self.kind != "rated" and self.rating is not None:
            raise ValueError("rating is only allowed with kind 'rated'")
        if self.kind == "question" and not (self.text and self.text.strip()):
            raise ValueError("a 'question' acknowledgement needs its text")
        if self.public and self.kind != "question":
            raise ValueError("public is only allowed with kind 'question'")
        return self


class Outcome(StrEnum):
    created = "created"  # something new was recorded → 201
    replaced = "replaced"  # a rating replaced the earlier one → 200
    repeated = "repeated"  # nothing new → 200


def ack_id(share_id: str, user_id: str, kind: str, question_id: str, cycle: int = 1) -> str:
    """Natural key: one per recipient and confirm cycle for opened/learned/applied/rated; each question its
    own. Cycle 1 keeps the key acknowledgements had before cycles existed (see ``follow_through``)."""
    if kind == "question":
        return question_id
    return f"{share_id}|{user_id}|{kind}{ack_cycle_suffix(cycle)}"


def rating_outcome(previous: int | None, new: int) -> Outcome:
    if previous is None:
        return Outcome.created
    return Outcome.repeated if previous == new else Outcome.replaced


class Acknowledgement(BaseModel):
    id: str
    share_id: str
    kind: AckKindName
    rating: int | None = None
    text: str | None = None
    outcome: Outcome
    at: datetime


class Question(BaseModel):
    id: str
    text: str
    at: datetime
    from_: str = Field(serialization_alias="from")
    public: bool = False

    model_config = ConfigDict(populate_by_name=True)


RATING_VALUES = ("1", "2", "3", "4", "5")


class Ratings(BaseModel):
    count: int = 0
    average: float | None = None
    distribution: dict[str, int] = Field(
        default_factory=lambda: dict.fromkeys(RATING_VALUES, 0),
        description='Recipients per rating, "1" to "5" (each key present)',
    )


class RevisionFeedback(BaseModel):
    revision: int
    at: datetime
    completed: int = Field(description="Recipients who completed the share at a revision of this one's confirm cycle")


class Feedback(BaseModel):
    """What became of a share. ``completed``, ``pending`` and ``overdue`` are disjoint and add up to
    ``recipients``; the per-kind counts and ratings are for the current confirm cycle."""

    share_id: str
    title: str
    recipients: int
    opened: int
    learned: int
    applied: int
    ratings: Ratings
    questions: list[Question] = Field(description="The newest 50 questions, oldest first")
    questions_total: int = 0
    requires: Requires = "learned"
    due_at: datetime | None = None
    completed: int = 0
    pending: int = 0
    overdue: int = 0
    revision: int = 1
    revisions: list[RevisionFeedback] = Field(default_factory=list)
    built_upon: int = 0
    checks: ChecksFeedback | None = Field(None, description="The knowledge check's results; null without a check")


def summarize(
    share_id: str,
    title: str,
    recipients: int,
    counts: dict[str, int],
    rating_sum: int,
    questions: list[Question],
    rating_distribution: Mapping[int, int] | None = None,
    **follow_through: Any,
) -> Feedback:
    """Feedback for one share from the per-kind counts, the sum of current ratings and how many gave
    each rating."""
    rated = counts.get("rated", 0)
    distribution = dict.fromkeys(RATING_VALUES, 0)
    for value, n in (rating_distribution or {}).items():
        if str(value) in distribution:
            distribution[str(value)] += int(n)
    return Feedback(
        share_id=share_id,
        title=title,
        recipients=recipients,
        opened=counts.get("opened", 0),
        learned=counts.get("learned", 0),
        applied=counts.get("applied", 0),
        ratings=Ratings(
            count=rated, average=round(rating_sum / rated, 2) if rated else None, distribution=distribution
        ),
        questions=questions,
        **follow_through,
    )
