"""Reports: a share's counts per team (``/report``), its recipients as CSV (``/report.csv``), and a team's
shares for its managers (``/v1/teams/{team_id}/learning``). Who may read what: :mod:`..domain.rules`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from learnloop_shared.http.pagination import Cursor, Page, encode_cursor, position
from learnloop_shared.http.problems import not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath
from pydantic import BaseModel, Field

from ..deps import Deps
from ..domain import rules

router = APIRouter(prefix="/v1", tags=["reports"])


class Counts(BaseModel):
    recipients: int
    opened: int = Field(description="Recipients who acknowledged `opened` in the current confirm cycle")
    learned: int = Field(description="Recipients who acknowledged `learned` in the current confirm cycle")
    applied: int = Field(description="Recipients who acknowledged `applied` in the current confirm cycle")
    passed: int = Field(description="Recipients who passed the knowledge check")
    pending: int
    overdue: int
    median_time_to_learn_s: float | None = Field(
        description="Median seconds from delivery to `learned` (else `applied`) over the recipients who did; "
        "exact up to 10,000 of them, within 1% beyond (null: nobody yet)"
    )


class TeamCounts(Counts):
    team_id: str
    name: str = Field(description="The team's name (its id when learn's directory copy has no name for it)")


class ShareReport(BaseModel):
    totals: Counts
    by_team: list[TeamCounts] = Field(description="A row per team a recipient belongs to (directly or through nesting)")


class TeamShare(Counts):
    share_id: str
    title: str
    author_id: str
    published_at: datetime
    due_at: datetime | None = None


@router.get(
    "/shares/{share_id}/report",
    response_model=ShareReport,
    responses={404: {"description": "Not the author, nor a manager of a team that received it (problem details)"}},
)
async def report(share_id: IdPath, me: CurrentPrincipal, deps: Deps) -> ShareReport:
    """The share's counts in total and per team. The author sees every team; a manager of teams sees the
    rows of the teams they manage and those nested under them, with totals over their recipients."""
    share = await deps.store.share(share_id)
    found = await deps.reports.share_report(share, me.sub) if share is not None else None
    if found is None:
        raise not_found("share")
    return ShareReport.model_validate({"totals": found.totals, "by_team": found.by_team})


@router.get(
    "/shares/{share_id}/report.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "A header row and one row per recipient (order not specified)",
        }
    },
)
async def report_csv(share_id: IdPath, me: CurrentPrincipal, deps: Deps) -> StreamingResponse:
    """The share's recipients as CSV (``user_id,name,teams,delivered_at,opened_at,learned_at,applied_at,
    rating,check_score,status``), streamed: the author's only."""
    share = await deps.store.share(share_id)
    if share is None or not rules.can_read_feedback(me, share["author_id"]):
        raise not_found("share")

    async def body() -> AsyncIterator[bytes]:
        async for text in deps.reports.csv_chunks(share):
            yield text.encode()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="share-{_filename_safe(share_id)}.csv"'},
    )


def _filename_safe(share_id: str) -> str:
    # Ids may hold quotes or non-ASCII characters, which a header's quoted filename cannot carry as they are.
    return re.sub(r"[^A-Za-z0-9._-]", "_", share_id)


@router.get(
    "/teams/{team_id}/learning",
    response_model=Page[TeamShare],
    responses={404: {"description": "Not a manager of the team or of a team it is nested under (problem details)"}},
)
async def team_learning(
    team_id: IdPath,
    me: CurrentPrincipal,
    deps: Deps,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Cursor = None,
) -> Page[TeamShare]:
    """Each share delivered to the team's members (directly or through nested teams), newest first, with
    the counts over those members only."""
    found = await deps.reports.team_learning(me.sub, team_id, position(cursor), limit)
    if found is None:
        raise not_found("team")
    items, after = found
    return Page[TeamShare](
        items=[
            TeamShare(
                share_id=i.share_id,
                title=i.title,
                author_id=i.author_id,
                published_at=i.published_at,
                due_at=i.due_at,
                **i.counts,
            )
            for i in items
        ],
        next_cursor=encode_cursor(*after) if after else None,
    )
