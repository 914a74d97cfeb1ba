"""Share endpoints: publish a share, follow its delivery, revise or retract it, list what builds on it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from learnloop_shared.auth import Principal
from learnloop_shared.http.pagination import Cursor, Page, page_from, position
from learnloop_shared.http.problems import Problem, forbidden, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath
from pydantic import BaseModel

from ..deps import Deps, ShareDeps
from ..domain import rules
from ..domain.shares import DerivedShare, Share, ShareDraft, SharePatch
from ..storage.shares import to_derived, to_share
from ..usecases.audience import check_audience
from ..usecases.publishing import Dedup, IdempotencyConflict
from ..usecases.revising import MAX_REVISIONS, RevisionConflict, ShareGone, ShareIsRetracted, TooManyRevisions

router = APIRouter(prefix="/v1", tags=["shares"])
PREVIEW_SAMPLE = 20


@router.post("/shares", status_code=status.HTTP_202_ACCEPTED, response_model=Share)
async def publish_share(
    body: ShareDraft,
    me: CurrentPrincipal,
    deps: Deps,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> Share:
    author = body.author_id or me.sub
    if not rules.can_publish_as(me, author):
        raise forbidden(f"publishing on behalf of another author needs scope {rules.SHARES_PUBLISH}")

    try:
        accepted = await deps.intake.accept(body, author, Dedup(idempotency_key=idempotency_key))
    except IdempotencyConflict as exc:
        raise Problem(422, str(exc)) from exc
    response.headers["Location"] = f"/v1/shares/{accepted.share.id}"
    return accepted.share


class Preview(BaseModel):
    audience_size: int
    sample: list[str]
    unknown_users: list[str]
    unknown_teams: list[str]


@router.post("/shares/preview", response_model=Preview)
async def preview_share(body: ShareDraft, me: CurrentPrincipal, deps: Deps) -> Preview:
    """Who a share would reach, without publishing anything."""
    author = body.author_id or me.sub
    if not rules.can_publish_as(me, author):
        raise forbidden(f"previewing on behalf of another author needs scope {rules.SHARES_PUBLISH}")
    checked = await check_audience(deps.directory, body.audience)
    spec = checked.spec
    key = f"preview-{uuid.uuid4()}"
    plan = await deps.previews.plan(key, spec, author)
    try:
        await deps.previews.materialize(plan, spec)
        size = await deps.previews.size(plan)
        sample = await deps.previews.sample(plan, PREVIEW_SAMPLE)
    finally:
        if plan.materialized:
            await deps.previews.discard(plan)
    return Preview(
        audience_size=size,
        sample=sample,
        unknown_users=checked.unknown_users,
        unknown_teams=checked.unknown_teams,
    )


@router.get("/shares", response_model=Page[Share])
async def my_shares(
    me: CurrentPrincipal,
    deps: Deps,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> Page[Share]:
    docs = await deps.shares.list_by_author(me.sub, position(cursor), limit + 1)
    return page_from(docs, limit, to_share, "created_at")


def _as_seen_by(me: Principal, share: Share) -> Share:
    """A share as the caller may see it: only the author sees whom it names; only the author and publishing
    systems see the answers of its knowledge check."""
    if not rules.sees_answer_key(me, share.author_id):
        share = share.without_answers()
    if rules.sees_recipients(me, share.author_id):
        return share
    return share.model_copy(update={"audience": share.audience.model_copy(update={"users": []}), "unknown_users": []})


async def _visible(share_id: str, me: Principal, deps: ShareDeps) -> None:
    """404 unless the share exists and the caller may see (and change) it."""
    doc = await deps.shares.get(share_id)
    if doc is None or not rules.can_view_share(me, doc["author_id"]):
        raise not_found("share")


@router.get("/shares/{share_id}", response_model=Share)
async def get_share(share_id: IdPath, me: CurrentPrincipal, deps: Deps) -> Share:
    doc = await deps.shares.get(share_id)
    if doc is None or not rules.can_view_share(me, doc["author_id"]):
        raise not_found("share")
    return _as_seen_by(me, to_share(doc))


@router.patch("/shares/{share_id}", response_model=Share)
async def revise_share(share_id: IdPath, body: SharePatch, me: CurrentPrincipal, deps: Deps) -> Share:
    """A new revision (``revision`` + 1) with the fields given; 409 once the share is retracted."""
    await _visible(share_id, me, deps)
    try:
        share = await deps.revisions.revise(share_id, body)
    except ShareGone as exc:
        raise not_found("share") from exc
    except ShareIsRetracted as exc:
        raise Problem(409, "the share was retracted: it can no longer be revised") from exc
    except TooManyRevisions as exc:
        raise Problem(409, f"a share has at most {MAX_REVISIONS} revisions") from exc
    except RevisionConflict as exc:
        raise Problem(409, "the share is being revised by others at the same time: try again") from exc
    return _as_seen_by(me, share)


@router.delete("/shares/{share_id}", response_model=Share)
async def retract_share(share_id: IdPath, me: CurrentPrincipal, deps: Deps) -> Share:
    """Retract the share (``status: retracted``); retracting again answers the same share."""
    await _visible(share_id, me, deps)
    try:
        share = await deps.revisions.retract(share_id)
    except ShareGone as exc:
        raise not_found("share") from exc
    return _as_seen_by(me, share)


@router.get("/shares/{share_id}/derived", response_model=Page[DerivedShare])
async def derived_shares(
    share_id: IdPath,
    me: CurrentPrincipal,
    deps: Deps,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> Page[DerivedShare]:
    """Unretracted shares that build on this one, newest first (the author of this share only)."""
    doc = await deps.shares.get(share_id)
    if doc is None or not rules.sees_derived(me, doc["author_id"]):
        raise not_found("share")
    docs = await deps.shares.derived(share_id, position(cursor), limit + 1)
    return page_from(docs, limit, to_derived, "created_at")
