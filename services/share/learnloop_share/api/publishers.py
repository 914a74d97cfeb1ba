"""Registering the systems that may publish share requests over Kafka."""

from __future__ import annotations

from fastapi import APIRouter
from learnloop_shared.http.problems import Problem, forbidden, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath

from ..deps import Deps
from ..domain import rules
from ..domain.publishers import PublisherIn, PublisherOut, SourcesTaken

router = APIRouter(prefix="/v1", tags=["publishers"])


@router.put("/publishers/{publisher_id}", response_model=PublisherOut)
async def put_publisher(publisher_id: IdPath, body: PublisherIn, me: CurrentPrincipal, deps: Deps) -> PublisherOut:
    if not me.has(rules.PUBLISHERS_WRITE):
        raise forbidden(f"scope {rules.PUBLISHERS_WRITE} is required")
    try:
        return await deps.publishers.put(publisher_id, body)
    except SourcesTaken as exc:
        if exc.sources:
            raise Problem(409, str(exc), sources=exc.sources) from exc
        raise Problem(409, str(exc)) from exc


@router.get("/publishers/{publisher_id}", response_model=PublisherOut)
async def get_publisher(publisher_id: IdPath, me: CurrentPrincipal, deps: Deps) -> PublisherOut:
    if not me.has(rules.PUBLISHERS_WRITE):
        raise not_found("publisher")
    pub = await deps.publishers.get(publisher_id)
    if pub is None:
        raise not_found("publisher")
    return pub
