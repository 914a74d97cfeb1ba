"""Webhook subscriptions of the caller (a user, or another system with its own identity).

Webhook ids are the caller's own names: another caller's webhook with the same id is invisible (404
exactly as for a missing one, and PUT creates the caller's own).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from learnloop_shared.http.pagination import Cursor, Page, page_from, position
from learnloop_shared.http.problems import Problem, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import NamePath as WebhookId

from ..deps import Deps
from ..domain.webhooks import (
    AddressRefused,
    DeliveryOut,
    WebhookIn,
    WebhookOut,
    check_addresses,
    check_scheme,
    parse_url,
)
from ..storage.webhooks import to_delivery, to_webhook

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.put("/webhooks/{webhook_id}", response_model=WebhookOut)
async def put_webhook(webhook_id: WebhookId, body: WebhookIn, me: CurrentPrincipal, deps: Deps) -> WebhookOut:
    try:
        check_scheme(body.url, deps.settings.webhook_require_https)
        target = parse_url(body.url)  # valid: WebhookIn checked it
        if target.ip_literal:  # names are checked after resolution, on every attempt
            check_addresses([target.host], deps.settings.webhook_allowed_networks)
    except AddressRefused as exc:
        raise Problem(422, str(exc)) from exc
    return to_webhook(await deps.webhooks.put(webhook_id, me.sub, body))


async def _own(deps: Deps, webhook_id: str, owner: str) -> dict[str, object]:
    hook = await deps.webhooks.get(webhook_id, owner)
    if hook is None:
        raise not_found("webhook")
    return hook


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: WebhookId, me: CurrentPrincipal, deps: Deps) -> WebhookOut:
    return to_webhook(await _own(deps, webhook_id, me.sub))


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: WebhookId, me: CurrentPrincipal, deps: Deps) -> Response:
    await _own(deps, webhook_id, me.sub)
    await deps.webhooks.delete(webhook_id, me.sub)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    webhook_id: WebhookId,
    me: CurrentPrincipal,
    deps: Deps,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    hook = await _own(deps, webhook_id, me.sub)
    docs = await deps.webhooks.list(str(hook["_id"]), status, position(cursor), limit + 1)
    return page_from(docs, limit, to_delivery, "created_at")
