"""The learn service: records acknowledgements and sends learning feedback back to authors."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import ShareBuiltOn, ShareDelivered, SharePublished, ShareRetracted, ShareRevised
from learnloop_shared.jobs import Job
from learnloop_shared.kafka.consumers import ConsumerSpec
from learnloop_shared.runtime import Runtime, ServiceDefinition

from .api import learning, reminders
from .config import LearnSettings
from .deps import LearnDeps, build_deps


def consumers(rt: Runtime[LearnSettings], deps: LearnDeps) -> Sequence[ConsumerSpec]:
    t = rt.settings.topics
    return [
        ConsumerSpec(
            name="shares",
            topic=t.shares,
            handlers={SharePublished: deps.on_deliveries.on_published},
            ignore=frozenset({ShareRevised.event_type, ShareBuiltOn.event_type, ShareRetracted.event_type}),
        ),
        ConsumerSpec(
            name="deliveries",
            topic=t.deliveries,
            handlers={ShareDelivered: deps.on_deliveries.on_delivered},
            bulk=True,  # one event per recipient
        ),
    ]


def jobs(rt: Runtime[LearnSettings], deps: LearnDeps) -> Sequence[Job]:
    """Worker-side: reminder rounds that are due (reminders, overdue notices, re-confirmations)."""
    return [Job("reminder-rounds", deps.round_runner.run_due, every_s=rt.settings.rounds_poll_s)]


SERVICE = ServiceDefinition[LearnSettings, LearnDeps](
    name="learn",
    title="Learnloop learn service",
    settings_cls=LearnSettings,
    routers=[learning.router, reminders.router],
    build_deps=build_deps,
    consumers=consumers,
    jobs=jobs,
)
