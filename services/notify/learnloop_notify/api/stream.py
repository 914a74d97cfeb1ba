"""Live notifications over Server-Sent Events, resumable with ``Last-Event-ID``.

Each connection follows a MongoDB change stream of the caller's new notifications, so any API replica
sees notifications stored by any worker. The SSE event id is the change stream's resume token: a
client that reconnects with ``Last-Event-ID`` continues exactly after the last event it received.
If the token can no longer be resumed, the server sends ``event: reset`` and the client should
reload its inbox.

Each notification is sent as it is shown now (current title and url); notifications of a retracted
share are skipped unless ``include_retracted=true``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from learnloop_shared.http.problems import Problem
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.http.sse import HEADERS, KEEPALIVE, KEEPALIVE_S, retry, sse

from ..deps import Deps
from ..domain.notifications import FeedEnded, FeedNotResumable, to_notification
from .notifications import IncludeRetracted

router = APIRouter(prefix="/v1", tags=["notifications"])
log = logging.getLogger(__name__)


def encode_token(token: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(token, default=str).encode()).decode().rstrip("=")


MAX_TOKEN_CHARS = 2000
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


def decode_token(value: str) -> dict[str, Any]:
    """A ``Last-Event-ID`` back to the resume token it was made from: ``{"_data": "<hex>"}`` (MongoDB's
    documented token form) and nothing else, so no client-made document ever reaches the database."""
    try:
        token = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, TypeError, RecursionError) as exc:
        raise Problem(422, "invalid Last-Event-ID") from exc
    if not isinstance(token, dict) or set(token) != {"_data"}:
        raise Problem(422, "invalid Last-Event-ID")
    data = token["_data"]
    if not isinstance(data, str) or not data or not _HEX.match(data):
        raise Problem(422, "invalid Last-Event-ID")
    return {"_data": data}


@router.get(
    "/notifications/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_notifications(
    request: Request,
    me: CurrentPrincipal,
    deps: Deps,
    include_retracted: IncludeRetracted = False,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=MAX_TOKEN_CHARS)] = None,
) -> StreamingResponse:
    resume = decode_token(last_event_id) if last_event_id else None
    try:
        changes = await deps.inbox.watch(me.sub, resume)
        reset = False
    except FeedNotResumable:
        log.info("could not resume a notification stream; asking the client to reload")
        changes = await deps.inbox.watch(me.sub, None)
        reset = True

    async def events() -> AsyncIterator[bytes]:
        idle = 0.0
        try:
            yield retry(2000)
            if reset:
                yield sse("reset", "{}")
            while not await request.is_disconnected():
                change = await changes.next()
                if change is None:
                    idle += 1.0
                    if idle >= KEEPALIVE_S:
                        idle = 0.0
                        yield KEEPALIVE
                    continue
                idle = 0.0
                token, doc = change
                shown = await deps.view.shown(doc)
                if shown.get("retracted_at") is not None and not include_retracted:
                    continue
                yield sse("notification", to_notification(shown).model_dump_json(), encode_token(token))
        except FeedEnded as exc:
            log.warning("notification stream ended: %s", exc)
        finally:
            await changes.close()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers=dict(HEADERS),
    )
