"""The learn service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import LearnSettings
from .jobs.rounds import RoundRunner
from .messaging.directory import DirectoryHandlers
from .messaging.recipients import RecipientHandlers
from .messaging.shares import ShareHandlers
from .storage.changes import ShareChanges
from .storage.checks import CheckStore
from .storage.dashboard import AuthorShares
from .storage.directory import DirectoryCopy
from .storage.learning import LearningStore
from .storage.migrations import adopt_completed_progress, adopt_legacy_recipients
from .storage.questions import QuestionStore
from .storage.rounds import RoundStore
from .storage.state import StateReader
from .storage.xapi.attachments import AttachmentStore
from .storage.xapi.credentials import CredentialStore
from .storage.xapi.statements import StatementStore
from .usecases.acknowledging import Acknowledging
from .usecases.answering import Answering
from .usecases.checking import Checking
from .usecases.dashboard import AuthorDashboard
from .usecases.directory import KeepDirectory
from .usecases.following import FollowShares
from .usecases.recipients import RecordRecipients
from .usecases.reminding import Reminding, RoundSettings
from .usecases.reports import Reports
from .usecases.xapi.intake import StatementIntake
from .usecases.xapi.reading import StatementReader


@dataclass(frozen=True)
class XapiDeps:
    """The LRS: statements, credentials, intake; ``public_url`` and ``home_page`` without a trailing slash."""

    statements: StatementStore
    credentials: CredentialStore
    intake: StatementIntake
    public_url: str
    home_page: str
    attachments: AttachmentStore
    reader: StatementReader


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
    directory: DirectoryCopy
    on_directory: DirectoryHandlers
    reports: Reports
    dashboard: AuthorDashboard
    changes: ShareChanges
    xapi: XapiDeps


async def build_deps(rt: Runtime[LearnSettings]) -> LearnDeps:
    store = LearningStore(rt.db)
    await store.ensure_indexes()
    await adopt_legacy_recipients(store)
    await adopt_completed_progress(store)
    questions = QuestionStore(rt.db)
    await questions.ensure_indexes()
    author_shares = AuthorShares(rt.db)
    await author_shares.ensure_indexes()
    settings = rt.settings
    rounds = RoundStore(rt.db)
    await rounds.ensure_indexes()
    directory = DirectoryCopy(rt.db)
    await directory.ensure_indexes()
    reminding = Reminding(
        rounds,
        rt.outbox,
        settings.topics.acknowledgements,
        rt.source,
        RoundSettings(settings.rounds_lease_s, settings.rounds_batch_size, settings.manual_reminder_interval_s),
    )
    checks = CheckStore(rt.db)
    acknowledging = Acknowledging(store, checks, rt.outbox, settings.topics.acknowledgements, rt.source)
    statements = StatementStore(rt.db)
    await statements.ensure_indexes()
    attachments = AttachmentStore(rt.db)
    xapi = XapiDeps(
        statements=statements,
        credentials=CredentialStore(rt.db),
        intake=StatementIntake(statements, attachments),
        public_url=settings.learn_public_url.rstrip("/"),
        home_page=settings.xapi_home_page(),
        attachments=attachments,
        reader=StatementReader(statements, attachments),
    )
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
        directory=directory,
        on_directory=DirectoryHandlers(KeepDirectory(directory)),
        reports=Reports(store, directory),
        dashboard=AuthorDashboard(store, author_shares),
        changes=ShareChanges(rt.db),
        xapi=xapi,
    )


Deps = Annotated[LearnDeps, Depends(service_deps)]
