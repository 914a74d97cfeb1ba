"""The learn service's dependencies, built once per process from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from learnloop_shared.http.security import service_deps
from learnloop_shared.runtime import Runtime

from .config import LearnSettings
from .domain.xapi.forwarding import Target, mark_pending
from .domain.xapi.loop import Out, learnloop_authority_key
from .jobs.rounds import RoundRunner, runner_id
from .jobs.xapi_forwarding import ForwardingJob, HttpRemote
from .jobs.xapi_loop_in import LoopInSweep
from .messaging.directory import DirectoryHandlers
from .messaging.recipients import RecipientHandlers
from .messaging.shares import ShareHandlers
from .messaging.xapi import XapiLoopHandlers
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
from .storage.xapi.documents import DocumentStore
from .storage.xapi.forwarding import ForwardingStore
from .storage.xapi.loop import LoopStore
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
from .usecases.xapi.credentials import LrsCredentials
from .usecases.xapi.documents import Activities, Documents
from .usecases.xapi.forwarding import Forwarding, ForwardSettings
from .usecases.xapi.intake import StatementIntake
from .usecases.xapi.loop_in import LoopIn, LoopInSettings
from .usecases.xapi.loop_out import LoopOut
from .usecases.xapi.reading import StatementReader


@dataclass(frozen=True)
class XapiDeps:
    """The LRS: statements, credentials, intake; ``public_url`` and ``home_page`` without a trailing slash."""

    statements: StatementStore
    credentials: CredentialStore
    intake: StatementIntake
    public_url: str
    home_page: str
    on_learning: XapiLoopHandlers  # the loop out: learn's learning events -> statements
    loop_in: LoopIn  # the loop in: statements -> acknowledgements (hooks on the intake)
    loop_in_sweep: LoopInSweep  # the loop in's job: what a request stored but did not take in
    forwarding: ForwardingStore
    forwarder: ForwardingJob | None  # None unless LEARNLOOP_XAPI_FORWARD_URL is set
    documents: Documents
    activities: Activities
    lrs_credentials: LrsCredentials
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
    intake = StatementIntake(statements, attachments)
    credentials = CredentialStore(rt.db)
    documents = DocumentStore(rt.db)
    await documents.ensure_indexes()
    public_url = settings.learn_public_url.rstrip("/")
    loop_store = LoopStore(rt.db)
    await loop_store.ensure_indexes()
    loop_in = LoopIn(
        loop_store,
        store,
        acknowledging,
        LoopInSettings(
            verb_map=settings.xapi_verbs(),
            public_url=public_url,
            home_page=settings.xapi_home_page(),
            learnloop_key=learnloop_authority_key(public_url),
            grace_s=settings.xapi_loop_in_grace_s,
        ),
    )
    intake.before_store.append(loop_in.mark)
    intake.after_store.append(loop_in.after_store)
    xapi = XapiDeps(
        statements=statements,
        credentials=credentials,
        intake=intake,
        public_url=public_url,
        home_page=settings.xapi_home_page(),
        on_learning=XapiLoopHandlers(LoopOut(intake, statements, store, Out(public_url, settings.xapi_home_page()))),
        loop_in=loop_in,
        loop_in_sweep=LoopInSweep(loop_in),
        forwarding=await forwarding_store(rt),
        forwarder=forwarder(rt),
        documents=Documents(documents, settings.xapi_document_max_bytes),
        activities=Activities(documents, credentials, statements, f"{public_url}/xapi/credentials"),
        lrs_credentials=LrsCredentials(credentials, settings.lrs_max_credentials),
        attachments=attachments,
        reader=StatementReader(statements, attachments),
    )
    xapi.intake.after_store.append(xapi.activities.after_store)
    if xapi.forwarder is not None:
        xapi.intake.before_store.append(mark_pending)
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


async def forwarding_store(rt: Runtime[LearnSettings]) -> ForwardingStore:
    store = ForwardingStore(rt.db)
    await store.ensure_indexes()
    return store


def forwarder(rt: Runtime[LearnSettings]) -> ForwardingJob | None:
    """The forwarding job when ``LEARNLOOP_XAPI_FORWARD_URL`` is set (its HTTP client is made once here)."""
    s = rt.settings
    if s.xapi_forward_url is None:
        return None
    password = s.xapi_forward_password.get_secret_value() if s.xapi_forward_password is not None else None
    remote = HttpRemote(
        s.xapi_forward_url, s.xapi_forward_version, s.xapi_forward_username, password, s.xapi_forward_timeout_s
    )
    settings = ForwardSettings(
        batch_size=s.xapi_forward_batch_size,
        base_backoff_s=1.0,
        max_backoff_s=s.xapi_forward_max_backoff_s,
        lease_s=s.xapi_forward_lease_s(),
    )
    target = Target(s.xapi_forward_url, s.xapi_forward_version, s.xapi_forward_batch_size)
    return ForwardingJob(Forwarding(ForwardingStore(rt.db), remote, settings, runner_id()), remote, target)


Deps = Annotated[LearnDeps, Depends(service_deps)]
