"""The caller's own state of the shares they received (what the inbox page shows next to each share)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from learnloop_shared.events import utcnow
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import Id

from ..deps import Deps
from ..domain.state import MAX_STATE_SHARES, LearningState, share_state

router = APIRouter(prefix="/v1", tags=["learning"])

ShareIds = Annotated[
    list[Id],
    Query(
        alias="share_id",
        min_length=1,
        max_length=MAX_STATE_SHARES,
        description="Repeat for each share (1–100). Shares the caller did not receive are left out.",
    ),
]


@router.get("/me/learning/state", response_model=LearningState)
async def my_state(me: CurrentPrincipal, deps: Deps, share_ids: ShareIds) -> LearningState:
    """For each share the caller received, in the order asked (each once): status (pending, completed,
    overdue, retracted), what completes it, due date, revision, what they acknowledged for the current
    revision to confirm, their rating, questions asked and the revisions they completed."""
    wanted = list(dict.fromkeys(share_ids))
    view = await deps.state.view(me.sub, wanted)
    now = utcnow()
    return LearningState(
        items=[
            share_state(
                s, view.progress.get(s["_id"]), view.cycle_acks.get(s["_id"], []), view.asked.get(s["_id"], {}), now
            )
            for s in view.shares
        ]
    )
