"""The learn service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import LearnSettings
from .jobs.rounds import RoundRunner
from .messaging.recipients import RecipientHandlers
from .messaging.shares import ShareHandlers
from .storage.checks import CheckStore
from .storage.learning import LearningStore
from .storage.migrations import adopt_completed_progress, adopt_legacy_recipients
from .storage.questions import QuestionStore
from .storage.rounds import RoundStore
from .storage.state import StateReader
from .usecases.acknowledging import Acknowledging
from .usecases.answering import Answering
from .usecases.checking import Checking
from .usecases.following import FollowShares
from .usecases.recipients import RecordRecipients
from .usecases.reminding import Reminding, RoundSettings


@dataclass(frozen=True)
class LearnDeps:
    store: LearningStore
    acknowledging: Acknowledging
    on_deliveries: RecipientHandlers
    questions: QuestionStore
    answering: Answering
    state: StateReader
    on_shares: ShareHandlers
    rounds: RoundStore
    reminding: Reminding
    round_runner: RoundRunner
    checks: CheckStore
    checking: Checking


async def build_deps(rt: Runtime[LearnSettings]) -> LearnDeps:
    store = LearningStore(rt.db)
    await store.ensure_indexes()
    await adopt_legacy_recipients(store)
    await adopt_completed_progress(store)
    questions = QuestionStore(rt.db)
    await questions.ensure_indexes()
    settings = rt.settings
    rounds = RoundStore(rt.db)
    await rounds.ensure_indexes()
    reminding = Reminding(
        rounds,
        rt.outbox,
        settings.topics.acknowledgements,
        rt.source,
        RoundSettings(settings.rounds_lease_s, settings.rounds_batch_size, settings.manual_reminder_interval_s),
    )
    checks = CheckStore(rt.db)
    acknowledging = Acknowledging(store, checks, rt.outbox, settings.topics.acknowledgements, rt.source)
    return LearnDeps(
        store=store,
        acknowledging=acknowledging,
        on_deliveries=RecipientHandlers(RecordRecipients(store)),
        questions=questions,
        answering=Answering(questions, rt.outbox, rt.settings.topics.acknowledgements, rt.source),
        state=StateReader(rt.db, questions),
        on_shares=ShareHandlers(FollowShares(store)),
        rounds=rounds,
        reminding=reminding,
        round_runner=RoundRunner(rounds, reminding, settings.rounds_lease_s),
        checks=checks,
        checking=Checking(checks, acknowledging, rt.outbox, settings.topics.acknowledgements, rt.source),
    )


Deps = Annotated[LearnDeps, Depends(service_deps)]
