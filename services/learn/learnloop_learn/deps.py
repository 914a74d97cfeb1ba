"""The learn service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import LearnSettings
from .messaging.audience import AudienceRecorder
from .recording import Recorder
from .storage.learning import LearningStore


@dataclass(frozen=True)
class LearnDeps:
    store: LearningStore
    recorder: Recorder
    audience: AudienceRecorder


async def build_deps(rt: Runtime[LearnSettings]) -> LearnDeps:
    store = LearningStore(rt.db)
    await store.ensure_indexes()
    await store.adopt_legacy_recipients()
    return LearnDeps(
        store=store,
        recorder=Recorder(store, rt.outbox, rt.settings.topics.acknowledgements, rt.source),
        audience=AudienceRecorder(store),
    )


Deps = Annotated[LearnDeps, Depends(service_deps)]
