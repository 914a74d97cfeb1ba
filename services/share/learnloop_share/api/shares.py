"""Share endpoints: publish a share and follow its delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status
from learnloop_shared.http.pagination import Page, encode_cursor, newest_first_filter
from learnloop_shared.http.problems import Problem, forbidden, not_found
from learnloop_shared.http.security import CurrentPrincipal

from ..deps import Deps
from ..domain import rules
from ..domain.shares import Share, ShareDraft
from ..publishing import Dedup, IdempotencyConflict
from ..storage.shares import to_share

router = APIRouter(prefix="/v1", tags=["shares"])


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


@router.get("/shares", response_model=Page[Share])
async def my_shares(
    me: CurrentPrincipal,
    deps: Deps,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[Share]:
    docs = await deps.shares.list_by_author(me.sub, newest_first_filter(cursor, "created_at"), limit + 1)
    items = [to_share(d) for d in docs[:limit]]
    nxt = encode_cursor(items[-1].created_at, items[-1].id) if len(docs) > limit else None
    return Page[Share](items=items, next_cursor=nxt)


@router.get("/shares/{share_id}", response_model=Share)
async def get_share(share_id: Annotated[str, Path(max_length=200)], me: CurrentPrincipal, deps: Deps) -> Share:
    doc = await deps.shares.get(share_id)
    if doc is None or not rules.can_view_share(me, doc["author_id"]):
        raise not_found("share")
    return to_share(doc)
