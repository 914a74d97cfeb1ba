"""The share service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .audience import AudienceResolver
from .config import ShareSettings
from .messaging.fanout import FanOut
from .messaging.requests import ShareRequests
from .publishing import ShareIntake
from .storage.audience import AudienceStore
from .storage.directory import Directory
from .storage.publishers import Publishers
from .storage.shares import Shares

PREVIEW_TTL_S = 600


@dataclass(frozen=True)
class ShareDeps:
    settings: ShareSettings
    directory: Directory
    shares: Shares
    publishers: Publishers
    resolver: AudienceResolver
    previews: AudienceResolver
    intake: ShareIntake
    fanout: FanOut
    requests: ShareRequests


async def build_deps(rt: Runtime[ShareSettings]) -> ShareDeps:
    s = rt.settings
    directory, shares, publishers = Directory(rt.db), Shares(rt.db), Publishers(rt.db)
    audience = AudienceStore(rt.db)
    previews = AudienceStore(rt.db, "audience_previews", ttl_s=PREVIEW_TTL_S)
    for repo in (directory, shares, publishers, audience, previews):
        await repo.ensure_indexes()
    resolver = AudienceResolver(directory, audience, s.fanout_batch_size)
    intake = ShareIntake(shares, directory, rt.outbox, s.topics.shares, rt.source)
    return ShareDeps(
        settings=s,
        directory=directory,
        shares=shares,
        publishers=publishers,
        resolver=resolver,
        previews=AudienceResolver(directory, previews, s.fanout_batch_size),
        intake=intake,
        fanout=FanOut(shares, resolver, rt.publisher, s.topics.deliveries, rt.source),
        requests=ShareRequests(intake, publishers),
    )


Deps = Annotated[ShareDeps, Depends(service_deps)]
