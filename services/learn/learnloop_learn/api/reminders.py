"""The author's "remind now": ``POST /v1/shares/{share_id}/reminders``."""

from __future__ import annotations

from fastapi import APIRouter
from learnloop_shared.http.guard import PROBLEM_JSON
from learnloop_shared.http.problems import PROBLEM_SCHEMA, Problem, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath
from pydantic import BaseModel, Field

from ..deps import Deps
from ..domain import rules
from ..usecases.reminding import Retracted, TooSoon

router = APIRouter(prefix="/v1", tags=["learning"])


class Reminded(BaseModel):
    pending: int = Field(ge=0, description="Recipients who have not completed the share: each gets a reminder")


def _problem(description: str, headers: dict[str, object] | None = None) -> dict[str, object]:
    response: dict[str, object] = {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER: dict[str, object] = {
    "Retry-After": {"description": "Seconds until the next reminder may be asked for", "schema": {"type": "integer"}}
}


@router.post(
    "/shares/{share_id}/reminders",
    response_model=Reminded,
    status_code=202,
    responses={
        410: _problem("The share was retracted"),
        429: _problem("A reminder was asked for less than the interval ago (one per hour per share)", RETRY_AFTER),
    },
)
async def remind(share_id: IdPath, me: CurrentPrincipal, deps: Deps) -> Reminded:
    """Remind every recipient who has not completed the share (pending or overdue), now. The author only;
    at most once per ``LEARNLOOP_MANUAL_REMINDER_INTERVAL_S`` (an hour) per share."""
    share = await deps.rounds.share(share_id)
    if share is None or not rules.can_remind(me, share["author_id"]):
        raise not_found("share")
    if share.get("status") == "retracted":
        raise Problem(410, "the share was retracted")
    try:
        pending = await deps.reminding.remind_now(share)
    except Retracted:
        raise Problem(410, "the share was retracted") from None
    except TooSoon as exc:
        raise Problem(
            429,
            f"recipients of this share were reminded recently; try again in {exc.retry_after_s} s",
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None
    return Reminded(pending=pending)
