"""``GET /v1/shares/{share_id}/progress``: each recipient's progress, for the share's author."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from learnloop_shared.http.pagination import Cursor, Page
from learnloop_shared.http.problems import Problem, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import MAX_ID_CHARS, IdPath
from pydantic import BaseModel, Field

from ..deps import Deps
from ..domain import rules
from ..domain.audience import MAX_BUCKET
from ..domain.follow_through import Status
from ..usecases.progress import Position, ProgressReport

router = APIRouter(prefix="/v1", tags=["learning"])


class ProgressItem(BaseModel):
    user_id: str
    status: Status
    acknowledged: list[str] = Field(description="What the recipient acknowledged in the current confirm cycle")
    completed_at: datetime | None = Field(description="When they completed the current confirm cycle (null: not yet)")
    reminders_sent: int = Field(
        description="Reminder rounds (scheduled or manual) of the share that started before the recipient "
        "completed the current confirm cycle, or that started at all if they have not"
    )
    completed_revisions: list[int] = Field(description="The revisions at which the recipient completed the share")


@router.get("/shares/{share_id}/progress", response_model=Page[ProgressItem])
async def progress(
    share_id: IdPath,
    me: CurrentPrincipal,
    deps: Deps,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> Page[ProgressItem]:
    share = await deps.store.share(share_id)
    if share is None or not rules.can_read_feedback(me, share["author_id"]):
        raise not_found("share")
    start = _decode(cursor, share_id) if cursor else None
    items, after = await ProgressReport(deps.store).page(share, start, limit, status)
    return Page[ProgressItem](
        items=[ProgressItem(**vars(i)) for i in items], next_cursor=_encode(after) if after else None
    )


def _encode(position: Position) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def _decode(cursor: str, share_id: str) -> Position:
    """The position a cursor names: (a bucket of this share, an index in it); 422 for anything else."""
    try:
        bucket, index = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (
            not isinstance(bucket, str)
            or not bucket.startswith(f"{share_id}|")
            or len(bucket) > 2 * MAX_ID_CHARS + 32
            or "\x00" in bucket
            or type(index) is not int
            or not 0 <= index < MAX_BUCKET
        ):
            raise ValueError("not a position")
        return bucket, index
    except (ValueError, TypeError, RecursionError) as exc:
        raise Problem(422, "invalid cursor") from exc
