"""The notify service: inbox notifications for recipients and feedback notifications for authors."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import (
    LearningAcknowledged,
    LearningAnswered,
    LearningChecked,
    LearningOverdue,
    LearningReminded,
    ShareBuiltOn,
    ShareDelivered,
    SharePublished,
    ShareRetracted,
    ShareRevised,
)
from learnloop_shared.jobs import Job
from learnloop_shared.kafka.consumers import ConsumerSpec
from learnloop_shared.runtime import Runtime, ServiceDefinition

from .api import notifications, preferences, stream, web, webhooks
from .config import NotifySettings
from .deps import NotifyDeps, build_deps


def consumers(rt: Runtime[NotifySettings], deps: NotifyDeps) -> Sequence[ConsumerSpec]:
    t = rt.settings.topics
    return [
        ConsumerSpec(
            name="deliveries",
            topic=t.deliveries,
            handlers={ShareDelivered: deps.on_events.on_delivered},
            bulk=True,  # one event per recipient
        ),
        ConsumerSpec(
            name="acknowledgements",
            topic=t.acknowledgements,
            handlers={
                LearningAcknowledged: deps.on_events.on_acknowledged,
                LearningReminded: deps.on_events.on_reminded,
                LearningOverdue: deps.on_events.on_overdue,
                LearningAnswered: deps.on_events.on_answered,
                LearningChecked: deps.on_events.on_checked,
            },
        ),
        ConsumerSpec(
            name="shares",
            topic=t.shares,
            handlers={
                ShareRevised: deps.on_events.on_revised,
                ShareRetracted: deps.on_events.on_retracted,
                ShareBuiltOn: deps.on_events.on_built_on,
            },
            ignore=frozenset({SharePublished.event_type}),
        ),
    ]


def jobs(rt: Runtime[NotifySettings], deps: NotifyDeps) -> Sequence[Job]:
    """Worker-side: digests that are due, notifications held in quiet hours, and webhook deliveries."""
    return [
        Job("digests", deps.digest_sender.send_due, every_s=rt.settings.digest_poll_s),
        Job("held", deps.releaser.release_due, every_s=rt.settings.held_poll_s),
        Job("webhooks", deps.dispatcher.dispatch_once, every_s=0.2, max_backoff_s=5.0, close=deps.dispatcher.close),
    ]


SERVICE = ServiceDefinition[NotifySettings, NotifyDeps](
    name="notify",
    title="Learnloop notify service",
    settings_cls=NotifySettings,
    routers=[stream.router, notifications.router, preferences.router, webhooks.router, web.router],
    jobs=jobs,
    build_deps=build_deps,
    consumers=consumers,
)
