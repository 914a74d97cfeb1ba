"""The share service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import ShareSettings
from .jobs.republish import RepublishRunner
from .messaging.fanout import FanOutHandlers
from .messaging.requests import ShareRequestHandlers
from .storage.audience import MaterializedAudience
from .storage.directory import Directory
from .storage.publishers import Publishers
from .storage.republish import RepublishStore
from .storage.shares import Shares
from .usecases.audience import AudienceResolver
from .usecases.directory import DirectoryWrites
from .usecases.fanout import FanOut
from .usecases.publishing import ShareIntake
from .usecases.republishing import Republishing
from .usecases.revising import ShareRevisions

PREVIEW_TTL_S = 600


@dataclass(frozen=True)
class ShareDeps:
    settings: ShareSettings
    directory: Directory
    directory_writes: DirectoryWrites
    shares: Shares
    publishers: Publishers
    resolver: AudienceResolver
    previews: AudienceResolver
    intake: ShareIntake
    revisions: ShareRevisions
    fanout: FanOut
    on_shares: FanOutHandlers
    on_requests: ShareRequestHandlers
    republishing: Republishing
    republish_runner: RepublishRunner


async def build_deps(rt: Runtime[ShareSettings]) -> ShareDeps:
    s = rt.settings
    directory, shares, publishers = Directory(rt.db), Shares(rt.db), Publishers(rt.db)
    audience = MaterializedAudience(rt.db)
    previews = MaterializedAudience(rt.db, "audience_previews", ttl_s=PREVIEW_TTL_S)
    republish_store = RepublishStore(rt.db)
    for repo in (directory, shares, publishers, audience, previews, republish_store):
        await repo.ensure_indexes()
    resolver = AudienceResolver(directory, audience, s.fanout_batch_size)
    fanout = FanOut(shares, resolver, rt.publisher, s.topics.deliveries, rt.source, s.fanout_status_check_s)
    intake = ShareIntake(shares, directory, rt.outbox, s.topics.shares, rt.source)
    revisions = ShareRevisions(shares, rt.outbox, s.topics.shares, rt.source)
    republishing = Republishing(
        republish_store, rt.outbox, s.topics.directory, rt.source, s.republish_batch_size, s.republish_lease_s
    )
    return ShareDeps(
        settings=s,
        directory=directory,
        directory_writes=DirectoryWrites(directory, rt.outbox, s.topics.directory, rt.source),
        shares=shares,
        publishers=publishers,
        resolver=resolver,
        previews=AudienceResolver(directory, previews, s.fanout_batch_size),
        intake=intake,
        revisions=revisions,
        fanout=fanout,
        on_shares=FanOutHandlers(fanout),
        on_requests=ShareRequestHandlers(intake, publishers),
        republishing=republishing,
        republish_runner=RepublishRunner(republish_store, republishing, s.republish_lease_s),
    )


Deps = Annotated[ShareDeps, Depends(service_deps)]
