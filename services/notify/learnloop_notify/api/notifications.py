"""The caller's notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from learnloop_shared.http.pagination import Cursor, Page, encode_cursor, page_from, position
from learnloop_shared.http.problems import not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath
from pydantic import BaseModel

from ..deps import Deps
from ..domain.notifications import Notification, to_notification

router = APIRouter(prefix="/v1", tags=["notifications"])
IncludeRetracted = Annotated[
    bool, Query(description="Also notifications of retracted shares (they carry `retracted_at`)")
]


@router.get("/notifications", response_model=Page[Notification])
async def list_notifications(
    me: CurrentPrincipal,
    deps: Deps,
    unread: bool = False,
    include_muted: bool = False,
    include_retracted: IncludeRetracted = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> Page[Notification]:
    read = await deps.view.page(me.sub, unread, position(cursor), limit, include_muted, include_retracted)
    if read.resume is None:
        return page_from(read.docs, limit, to_notification, "created_at")
    # Short page: the read stopped before filling it (see usecases.reading); go on after what was read.
    items = [to_notification(d) for d in read.docs]
    return Page[Notification](items=items, next_cursor=encode_cursor(*read.resume))


class UnreadCount(BaseModel):
    unread: int


class ReadAll(BaseModel):
    marked_read: int


@router.get("/notifications/unread-count", response_model=UnreadCount)
async def unread_count(me: CurrentPrincipal, deps: Deps, include_retracted: IncludeRetracted = False) -> UnreadCount:
    return UnreadCount(unread=await deps.view.unread_count(me.sub, include_retracted))


@router.post("/notifications/read-all", response_model=ReadAll)
async def read_all(me: CurrentPrincipal, deps: Deps) -> ReadAll:
    return ReadAll(marked_read=await deps.inbox.mark_all_read(me.sub))


@router.post("/notifications/{notification_id}/read", response_model=Notification)
async def mark_read(notification_id: IdPath, me: CurrentPrincipal, deps: Deps) -> Notification:
    doc = await deps.inbox.mark_read(me.sub, notification_id)
    if doc is None:
        raise not_found("notification")
    return to_notification(await deps.view.shown(doc))
