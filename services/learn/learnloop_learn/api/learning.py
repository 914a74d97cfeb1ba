"""Acknowledgements, feedback for authors, and the caller's learning list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from learnloop_shared.events import utcnow
from learnloop_shared.http.pagination import Cursor, Page, decode_cursor, page_from
from learnloop_shared.http.problems import Problem, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath
from pydantic import BaseModel, Field

from ..deps import Deps
from ..domain import rules
from ..domain.acknowledgements import (
    AckIn,
    Acknowledgement,
    Feedback,
    Outcome,
    Question,
    RevisionFeedback,
    summarize,
)
from ..domain.checks import checks_feedback, has_checks
from ..domain.follow_through import Requires, completed_per_revision, confirm_cycle, split_counts
from ..usecases.acknowledging import CheckNotPassed

router = APIRouter(prefix="/v1", tags=["learning"])


@router.post(
    "/shares/{share_id}/acknowledgements",
    response_model=Acknowledgement,
    status_code=201,
    responses={
        200: {"description": "Repeated, or a rating replaced", "model": Acknowledgement},
        409: {"description": "`learned` on a share whose knowledge check the caller has not passed (problem details)"},
        410: {"description": "The share was retracted (problem details)"},
    },
)
async def acknowledge(
    share_id: IdPath, body: AckIn, me: CurrentPrincipal, deps: Deps, response: Response
) -> Acknowledgement:
    share = await deps.store.share(share_id)
    recipient = await deps.store.is_recipient(share, me.sub) if share else False
    if share is None or not rules.can_acknowledge(me, recipient):
        raise not_found("share")
    if rules.is_retracted(share):
        raise Problem(410, "the share was retracted: it takes no more acknowledgements")
    try:
        ack = await deps.acknowledging.acknowledge(share, me.sub, body)
    except CheckNotPassed:
        raise Problem(
            409, "pass the knowledge check first: passing it records 'learned' (POST …/checks/attempts)"
        ) from None
    response.status_code = 201 if ack.outcome is Outcome.created else 200
    return ack


@router.get("/shares/{share_id}/feedback", response_model=Feedback, response_model_by_alias=True)
async def feedback(share_id: IdPath, me: CurrentPrincipal, deps: Deps) -> Feedback:
    share = await deps.store.share(share_id)
    if share is None or not rules.can_read_feedback(me, share["author_id"]):
        raise not_found("share")
    cycle = confirm_cycle(share)
    counts, ratings = await deps.store.counts_and_ratings(share_id, cycle)
    totals = await deps.checks.totals(share_id, len(share.get("checks") or [])) if has_checks(share) else None
    asked, total = await deps.store.questions(share_id)
    questions = [
        Question(id=q["_id"], text=q["text"], at=q["at"], from_=q["user_id"], public=bool(q.get("public", False)))
        for q in asked
    ]
    recipients = await deps.store.recipient_count(share_id)
    completed = await deps.store.completed_count(share_id, cycle)
    revisions = share.get("revisions") or [{"revision": 1, "at": share["published_at"], "reconfirm": True}]
    per_revision = completed_per_revision(revisions, await deps.store.completion_lists(share_id))
    return summarize(
        share_id,
        share["title"],
        recipients,
        counts,
        sum(value * n for value, n in ratings.items()),
        questions,
        rating_distribution=ratings,
        questions_total=total,
        requires=share.get("requires", "learned"),
        due_at=share.get("due_at"),
        revision=share.get("revision", 1),
        revisions=[
            RevisionFeedback(revision=r["revision"], at=r["at"], completed=per_revision.get(r["revision"], 0))
            for r in revisions
        ],
        built_upon=share.get("built_upon", 0),
        checks=checks_feedback(share, totals) if totals is not None else None,
        **split_counts(recipients, completed, share.get("due_at"), utcnow()),
    )


class PendingShare(BaseModel):
    share_id: str
    title: str
    author_id: str
    url: str | None = None
    requires: Requires = "learned"
    due_at: datetime | None = None
    delivered_at: datetime
    acknowledged: list[str] = Field(description="What the caller acknowledged in the current confirm cycle")


@router.get("/me/learning", response_model=Page[PendingShare])
async def my_learning(
    me: CurrentPrincipal,
    deps: Deps,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> Page[PendingShare]:
    docs = await deps.store.pending_for(me.sub, decode_cursor(cursor) if cursor else None, limit + 1)
    return page_from(docs, limit, _pending, "delivered_at")


def _pending(d: dict[str, Any]) -> PendingShare:
    return PendingShare(
        share_id=d["share_id"],
        title=d["title"],
        author_id=d["author_id"],
        url=d.get("url"),
        requires=d.get("requires", "learned"),
        due_at=d.get("due_at"),
        delivered_at=d["delivered_at"],
        acknowledged=d.get("acknowledged", []),
    )
