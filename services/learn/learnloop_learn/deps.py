"""The learn service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import LearnSettings
from .messaging.recipients import RecipientHandlers
from .messaging.shares import ShareHandlers
from .storage.learning import LearningStore
from .storage.migrations import adopt_completed_progress, adopt_legacy_recipients
from .storage.questions import QuestionStore
from .storage.state import StateReader
from .usecases.acknowledging import Acknowledging
from .usecases.answering import Answering
from .usecases.following import FollowShares
from .usecases.recipients import RecordRecipients


@dataclass(frozen=True)
class LearnDeps:
    store: LearningStore
    acknowledging: Acknowledging
    on_deliveries: RecipientHandlers
    questions: QuestionStore
    answering: Answering
    state: StateReader
    on_shares: ShareHandlers


async def build_deps(rt: Runtime[LearnSettings]) -> LearnDeps:
    store = LearningStore(rt.db)
    await store.ensure_indexes()
    await adopt_legacy_recipients(store)
    await adopt_completed_progress(store)
    questions = QuestionStore(rt.db)
    await questions.ensure_indexes()
    return LearnDeps(
        store=store,
        acknowledging=Acknowledging(store, rt.outbox, rt.settings.topics.acknowledgements, rt.source),
        on_deliveries=RecipientHandlers(RecordRecipients(store)),
        questions=questions,
        answering=Answering(questions, rt.outbox, rt.settings.topics.acknowledgements, rt.source),
        state=StateReader(rt.db, questions),
        on_shares=ShareHandlers(FollowShares(store)),
    )


Deps = Annotated[LearnDeps, Depends(service_deps)]
