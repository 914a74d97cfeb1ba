"""Forwarding to the organisation's LRS, for its administrators: ``GET /v1/lrs/forwarding`` (the state) and
``POST /v1/lrs/forwarding/retry-rejected`` (put parked statements back in the queue). Scope ``lrs:admin``."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from learnloop_shared.http.problems import forbidden
from learnloop_shared.http.security import CurrentPrincipal
from pydantic import BaseModel, Field

from ..deps import Deps
from ..domain.xapi.forwarding import LRS_ADMIN, public_endpoint

router = APIRouter(prefix="/v1/lrs", tags=["lrs"])


class Rejection(BaseModel):
    id: str = Field(description="The statement's id")
    reason: str = Field(description="The remote LRS's answer (status and the start of its body)")
    at: datetime | None


class ForwardingState(BaseModel):
    enabled: bool = Field(description="`LEARNLOOP_XAPI_FORWARD_URL` is set")
    endpoint: str | None = Field(description="The remote LRS's xAPI base (without credentials)")
    version: str | None = Field(description="`X-Experience-API-Version` sent to it")
    batch_size: int | None = Field(description="Statements per request")
    pending: int = Field(description="Statements stored while forwarding was enabled, not yet accepted by the remote")
    oldest_pending_stored: datetime | None = Field(description="`stored` of the oldest pending statement")
    forwarded: int = Field(description="Statements the remote has accepted (since forwarding was first enabled)")
    rejected: int = Field(description="Statements the remote refused on their own (400/413), parked and not retried")
    recent_rejections: list[Rejection] = Field(description="The 10 parked statements stored last, newest first")
    last_forwarded_at: datetime | None
    last_error: str | None = Field(description="Why the last failed attempt failed")
    last_error_at: datetime | None
    consecutive_failures: int = Field(description="Failed attempts since the last one that succeeded")
    next_attempt_at: datetime | None = Field(description="No attempt before this (backoff after failures)")


class Requeued(BaseModel):
    requeued: int = Field(description="Parked statements put back in the queue")


def _admin(me: CurrentPrincipal) -> None:
    if not me.has(LRS_ADMIN):
        raise forbidden(f"scope {LRS_ADMIN} is required")


@router.get("/forwarding", response_model=ForwardingState, summary="The state of forwarding to the organisation's LRS")
async def get_forwarding(me: CurrentPrincipal, deps: Deps) -> ForwardingState:
    _admin(me)
    target = deps.xapi.forwarder.target if deps.xapi.forwarder is not None else None
    state = await deps.xapi.forwarding.read()
    return ForwardingState(
        enabled=target is not None,
        endpoint=public_endpoint(target.url) if target else None,
        version=target.version if target else None,
        batch_size=target.batch_size if target else None,
        **state,
    )


@router.post(
    "/forwarding/retry-rejected",
    response_model=Requeued,
    summary="Forward the parked statements again (e.g. after the remote LRS was fixed)",
)
async def retry_rejected(me: CurrentPrincipal, deps: Deps) -> Requeued:
    _admin(me)
    return Requeued(requeued=await deps.xapi.forwarding.retry_rejected())
