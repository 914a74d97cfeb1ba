"""The author's dashboard API: ``GET /v1/me/shares`` (the caller's shares with their funnels) and
``GET /v1/shares/{share_id}/feedback/stream`` (Server-Sent Events: the share's feedback changed)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from learnloop_shared.http.pagination import Cursor, Page, page_from, position
from learnloop_shared.http.problems import not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.http.sse import HEADERS, KEEPALIVE, KEEPALIVE_S, retry, sse
from learnloop_shared.ids import IdPath

from ..deps import Deps
from ..domain import rules
from ..domain.dashboard import MAX_SHARES_PAGE, AuthorShare
from ..storage.changes import FeedEnded

router = APIRouter(prefix="/v1", tags=["learning"])
log = logging.getLogger(__name__)
MIN_GAP_S = 1.0  # at most one `changed` a second: a burst of acknowledgements is one refetch for the page


@router.get("/me/shares", response_model=Page[AuthorShare])
async def my_shares(
    me: CurrentPrincipal,
    deps: Deps,
    limit: Annotated[int, Query(ge=1, le=MAX_SHARES_PAGE)] = 20,
    cursor: Cursor = None,
) -> Page[AuthorShare]:
    """The caller's own shares as their author, newest first (by publication time), each with its funnel
    (the counts of its feedback, and how many passed its knowledge check)."""
    docs = await deps.dashboard.page(me.sub, position(cursor), limit + 1)
    return page_from(docs, limit, lambda d: d["row"], "published_at")


@router.get(
    "/shares/{share_id}/feedback/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def feedback_stream(share_id: IdPath, request: Request, me: CurrentPrincipal, deps: Deps) -> StreamingResponse:
    """``event: changed`` with ``data: {"share_id": …}`` whenever an acknowledgement, a knowledge-check attempt,
    a question, an answer or new recipients of the share are stored (at most one a second: read the feedback
    again on each), and a ``: keep-alive`` comment after 15 s of silence. The author only (else 404).
    Changes stored while no stream is open are not replayed: read the feedback when (re)connecting."""
    share = await deps.store.share(share_id)
    if share is None or not rules.can_read_feedback(me, share["author_id"]):
        raise not_found("share")
    changes = await deps.changes.watch(share_id)
    changed = sse("changed", json.dumps({"share_id": share_id}))

    async def events() -> AsyncIterator[bytes]:
        last_sent = last_out = time.monotonic()
        pending = False
        try:
            yield retry(2000)
            while not await request.is_disconnected():
                pending = await changes.next() or pending
                now = time.monotonic()
                if pending and now - last_sent >= MIN_GAP_S:
                    pending = False
                    last_sent = last_out = now
                    yield changed
                elif now - last_out >= KEEPALIVE_S:
                    last_out = now
                    yield KEEPALIVE
        except FeedEnded as exc:
            log.warning("feedback stream ended: %s", exc)
        finally:
            await changes.close()

    return StreamingResponse(events(), media_type="text/event-stream", headers=dict(HEADERS))
