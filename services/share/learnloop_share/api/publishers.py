"""Registering the systems that may publish share requests over Kafka."""

from __future__ import annotations

from fastapi import APIRouter
from learnloop_shared.http.problems import Problem, forbidden, not_found
from learnloop_shared.http.security import CurrentPrincipal
from learnloop_shared.ids import IdPath
from learnloop_shared.mongo import is_duplicate

from ..deps import Deps
from ..domain import rules
from ..domain.publishers import PublisherIn, PublisherOut

router = APIRouter(prefix="/v1", tags=["publishers"])


@router.put("/publishers/{publisher_id}", response_model=PublisherOut)
async def put_publisher(publisher_id: IdPath, body: PublisherIn, me: CurrentPrincipal, deps: Deps) -> PublisherOut:
    if not me.has(rules.PUBLISHERS_WRITE):
        raise forbidden(f"scope {rules.PUBLISHERS_WRITE} is required")
    taken = await deps.publishers.other_owners(publisher_id, body.sources)
    if taken:
        raise Problem(409, "sources already registered by another publisher", sources=taken)
    try:
        return await deps.publishers.put(publisher_id, body)
    except Exception as exc:
        if is_duplicate(exc):
            raise Problem(409, "sources already registered by another publisher") from exc
        raise


@router.get("/publishers/{publisher_id}", response_model=PublisherOut)
async def get_publisher(publisher_id: IdPath, me: CurrentPrincipal, deps: Deps) -> PublisherOut:
    if not me.has(rules.PUBLISHERS_WRITE):
        raise not_found("publisher")
    pub = await deps.publishers.get(publisher_id)
    if pub is None:
        raise not_found("publisher")
    return pub
