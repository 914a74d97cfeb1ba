"""The share service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import ShareSettings
from .messaging.fanout import FanOut
from .publishing import ShareIntake
from .storage.audience import AudienceStore
from .storage.directory import Directory
from .storage.shares import Shares


@dataclass(frozen=True)
class ShareDeps:
    settings: ShareSettings
    directory: Directory
    shares: Shares
    audience: AudienceStore
    intake: ShareIntake
    fanout: FanOut


async def build_deps(rt: Runtime[ShareSettings]) -> ShareDeps:
    s = rt.settings
    directory, shares, audience = Directory(rt.db), Shares(rt.db), AudienceStore(rt.db)
    for repo in (directory, shares, audience):
        await repo.ensure_indexes()
    return ShareDeps(
        settings=s,
        directory=directory,
        shares=shares,
        audience=audience,
        intake=ShareIntake(rt.mongo, shares, directory, rt.outbox, s.topics.shares, rt.source),
        fanout=FanOut(shares, directory, audience, rt.publisher, s.topics.deliveries, rt.source, s.fanout_batch_size),
    )


Deps = Annotated[ShareDeps, Depends(service_deps)]
