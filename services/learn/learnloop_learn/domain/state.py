"""A recipient's state for one share (``GET /v1/me/learning/state``): pure rules over the stored documents.

Reads learn's data model: the share document (``requires``, ``due_at``, ``revision``, ``confirm_revision``,
``status``), the recipient's ``progress`` document (``completed_revisions``, ``last_completed_revision``,
``completed_at``, and the ``check_*`` fields of ``domain.checks``) and the acknowledgements of the current
confirmation cycle, whose ids are ``share|user|kind`` in cycle 1 and ``share|user|kind|c<confirm_revision>``
after a revision that asked for re-confirmation. Fields missing from documents stored before due dates and
revisions existed take their defaults (revision 1, ``requires`` "learned", active; a progress document
marked ``done`` completed revision 1).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from learnloop_shared.documents import Doc
from pydantic import BaseModel, Field

from . import follow_through
from .acknowledgements import AckKindName
from .checks import StateChecks, state_checks
from .follow_through import confirm_cycle

MAX_STATE_SHARES = 100
CYCLE_KINDS = ("opened", "learned", "applied", "rated")
"""The kinds recorded once per recipient and confirmation cycle (a rating is replaced, not repeated)."""
LISTED_KINDS = (*CYCLE_KINDS, "question")

Status = Literal["pending", "completed", "overdue", "retracted"]
Requires = Literal["opened", "learned", "applied"]


class ShareState(BaseModel):
    """What the caller did with one share they received."""

    share_id: str
    status: Status
    requires: Requires
    due_at: datetime | None = None
    revision: int
    acknowledged: list[AckKindName] = Field(description="Kinds acknowledged for the current revision to confirm")
    rating: int | None = Field(None, description="The caller's rating for the current revision to confirm")
    completed_at: datetime | None = Field(None, description="When the caller last completed the share (any revision)")
    questions_asked: int
    completed_revisions: list[int]
    checks: StateChecks | None = Field(
        None, description="The share's knowledge check and the caller's attempts; null without a check"
    )


class LearningState(BaseModel):
    items: list[ShareState]


def cycle_ack_id(share_id: str, user_id: str, kind: str, cycle: int) -> str:
    """The id of a once-per-cycle acknowledgement (see the module docstring)."""
    return f"{share_id}|{user_id}|{kind}{follow_through.ack_cycle_suffix(cycle)}"


def last_completed(progress: Doc | None) -> int | None:
    if not progress:
        return None
    if "last_completed_revision" in progress:
        rev = progress["last_completed_revision"]
        return None if rev is None else int(rev)
    return 1 if progress.get("done") else None


def completed_revisions(progress: Doc | None) -> list[int]:
    if not progress:
        return []
    if "completed_revisions" in progress:
        return sorted(int(r) for r in progress["completed_revisions"])
    return [1] if progress.get("done") else []


def status_of(share: Doc, progress: Doc | None, now: datetime) -> Status:
    """retracted; else completed iff the last completion is at or after the current confirm cycle; else
    overdue past ``due_at``; else pending."""
    if share.get("status") == "retracted":
        return "retracted"
    completed = follow_through.is_completed(last_completed(progress), confirm_cycle(share))
    return follow_through.status_of(completed, share.get("due_at"), now)


def share_state(
    share: Doc, progress: Doc | None, cycle_acks: list[Doc], asked: dict[int, int], now: datetime
) -> ShareState:
    """The state from the share, the caller's progress, their acknowledgements of the current cycle and
    the questions they asked per cycle (``asked``: cycle → count). ``acknowledged`` names ``question``
    when they asked one in the current cycle; ``questions_asked`` counts all of them."""
    kinds = {a["kind"] for a in cycle_acks}
    if any(n for c, n in asked.items() if c >= confirm_cycle(share)):
        kinds.add("question")
    rating = next((a.get("rating") for a in cycle_acks if a["kind"] == "rated"), None)
    return ShareState(
        share_id=share["_id"],
        status=status_of(share, progress, now),
        requires=share.get("requires") or "learned",
        due_at=share.get("due_at"),
        revision=int(share.get("revision") or 1),
        acknowledged=[k for k in LISTED_KINDS if k in kinds],
        rating=rating,
        completed_at=(progress or {}).get("completed_at"),
        questions_asked=sum(asked.values()),
        completed_revisions=completed_revisions(progress),
        checks=state_checks(share, progress),
    )
