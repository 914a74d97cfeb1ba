"""The learn service: records acknowledgements and sends learning feedback back to authors."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import (
    DirectoryTeamChanged,
    DirectoryUserChanged,
    ShareBuiltOn,
    ShareDelivered,
    SharePublished,
    ShareRetracted,
    ShareRevised,
)
from learnloop_shared.jobs import Job
from learnloop_shared.kafka.consumers import ConsumerSpec
from learnloop_shared.runtime import Runtime, ServiceDefinition

from .api import checks, dashboard, learning, progress, questions, reminders, reports, state, web
from .api.xapi import statements as xapi_statements
from .config import LearnSettings
from .deps import LearnDeps, build_deps


def consumers(rt: Runtime[LearnSettings], deps: LearnDeps) -> Sequence[ConsumerSpec]:
    t = rt.settings.topics
    return [
        ConsumerSpec(
            name="shares",
            topic=t.shares,
            handlers={
                SharePublished: deps.on_shares.on_published,
                ShareRevised: deps.on_shares.on_revised,
                ShareRetracted: deps.on_shares.on_retracted,
                ShareBuiltOn: deps.on_shares.on_built_on,
            },
        ),
        ConsumerSpec(
            name="deliveries",
            topic=t.deliveries,
            handlers={ShareDelivered: deps.on_deliveries.on_delivered},
            bulk=True,  # one event per recipient
        ),
        ConsumerSpec(
            name="directory",
            topic=t.directory,
            handlers={
                DirectoryUserChanged: deps.on_directory.on_user_changed,
                DirectoryTeamChanged: deps.on_directory.on_team_changed,
            },
        ),
    ]


def jobs(rt: Runtime[LearnSettings], deps: LearnDeps) -> Sequence[Job]:
    """Worker-side: reminder rounds that are due (reminders, overdue notices, re-confirmations)."""
    return [Job("reminder-rounds", deps.round_runner.run_due, every_s=rt.settings.rounds_poll_s)]


SERVICE = ServiceDefinition[LearnSettings, LearnDeps](
    name="learn",
    title="Learnloop learn service",
    settings_cls=LearnSettings,
    routers=[
        learning.router,
        progress.router,
        state.router,
        questions.router,
        reminders.router,
        checks.router,
        reports.router,
        dashboard.router,
        web.router,
        xapi_statements.router,
    ],
    build_deps=build_deps,
    consumers=consumers,
    jobs=jobs,
)
