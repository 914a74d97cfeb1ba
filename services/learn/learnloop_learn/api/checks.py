"""Knowledge checks: the questions (``GET /v1/shares/{id}/checks``) and attempts at them."""

from __future__ import annotations

from fastapi import APIRouter
from learnloop_shared.documents import Doc
from learnloop_shared.http.guard import PROBLEM_JSON
from learnloop_shared.http.problems import PROBLEM_SCHEMA, Problem, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath

from ..deps import Deps, LearnDeps
from ..domain import rules
from ..domain.checks import AttemptIn, AttemptResult, CheckView, answer_errors, has_checks, view
from ..usecases.checking import AttemptRefused

router = APIRouter(prefix="/v1", tags=["checks"])
NOT_READY_S = 1


def _problem(description: str) -> dict[str, object]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}


async def _share_with_checks(deps: LearnDeps, share_id: str, user_id: str) -> tuple[Doc, bool]:
    """The share and whether the user received it: 404 unless they are its author or a recipient, or when
    it has no knowledge check; 503 while learn knows there is one but not its questions yet (a delivery
    can arrive before the share's ``share.published``)."""
    share = await deps.store.share(share_id)
    if share is None:
        raise not_found("share")
    recipient = await deps.store.is_recipient(share, user_id)
    if user_id != share["author_id"] and not recipient:
        raise not_found("share")
    if not has_checks(share):
        raise Problem(404, "the share has no knowledge check")
    if not share.get("checks"):
        raise Problem(
            503,
            "the knowledge check is not available yet: try again shortly",
            headers={"Retry-After": str(NOT_READY_S)},
        )
    return share, recipient


@router.get(
    "/shares/{share_id}/checks",
    response_model=CheckView,
    response_model_exclude_none=True,
    responses={503: _problem("The share has a check learn does not know the questions of yet (Retry-After)")},
)
async def checks(share_id: IdPath, me: CurrentPrincipal, deps: Deps) -> CheckView:
    """The share's knowledge check and the caller's attempts at it: for its recipients and its author,
    who also sees the right answers (``answer``); anyone else, or a share without a check, gets 404."""
    share, _ = await _share_with_checks(deps, share_id, me.sub)
    progress = await deps.checks.progress_of(share_id, me.sub)
    return view(share, progress, author=me.sub == share["author_id"])


@router.post(
    "/shares/{share_id}/checks/attempts",
    response_model=AttemptResult,
    status_code=201,
    responses={
        409: _problem("No attempt is left, or the caller passed the check already"),
        410: _problem("The share was retracted"),
        503: _problem("The share has a check learn does not know the questions of yet (Retry-After)"),
    },
)
async def attempt(share_id: IdPath, body: AttemptIn, me: CurrentPrincipal, deps: Deps) -> AttemptResult:
    """Answer the share's knowledge check (a recipient; anyone else gets 404): one choice index per
    question. ``passed`` is ``score ≥ pass_mark``; passing records ``learned`` for the caller. A wrong
    number of answers or an index that is not a choice is 422 and uses no attempt; after ``max_attempts``
    or once passed, 409."""
    share, recipient = await _share_with_checks(deps, share_id, me.sub)
    if not rules.can_acknowledge(me, recipient):
        raise not_found("share")
    if rules.is_retracted(share):
        raise Problem(410, "the share was retracted: it takes no more attempts")
    if errors := answer_errors(body.answers, share["checks"]):
        raise Problem(422, errors[0]["msg"], errors=errors)
    try:
        return await deps.checking.attempt(share, me.sub, body.answers)
    except AttemptRefused as exc:
        raise Problem(409, str(exc)) from None
