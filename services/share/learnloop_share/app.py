"""The share service: directory, share intake and audience fan-out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from learnloop_shared.events import ShareBuiltOn, SharePublished, ShareRequested, ShareRetracted, ShareRevised
from learnloop_shared.jobs import Job
from learnloop_shared.kafka.consumers import ConsumerSpec
from learnloop_shared.recovery import Step
from learnloop_shared.runtime import Runtime, ServiceDefinition

from .api import directory, publishers, shares
from .config import ShareSettings
from .deps import ShareDeps, build_deps
from .messaging.requests import decode_request


def consumers(rt: Runtime[ShareSettings], deps: ShareDeps) -> Sequence[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="fanout",
            topic=rt.settings.topics.shares,
            handlers={SharePublished: deps.on_shares.on_published, ShareRetracted: deps.on_shares.on_retracted},
            ignore=frozenset({ShareRevised.event_type, ShareBuiltOn.event_type}),
        ),
        ConsumerSpec(
            name="share-requests",
            topic=rt.settings.topics.share_requests,
            handlers={ShareRequested: deps.on_requests.on_requested},
            decoder=decode_request,
        ),
    ]


def recovery(rt: Runtime[ShareSettings], deps: ShareDeps) -> Mapping[str, Step]:
    """On a new Kafka cluster: deliveries of recent fan-outs may never have been consumed."""
    return {"fanouts": deps.fanout.redrive_recent}


def jobs(rt: Runtime[ShareSettings], deps: ShareDeps) -> Sequence[Job]:
    """Worker-side: directory republishes that are waiting (or whose runner died)."""
    return [Job("directory-republish", deps.republish_runner.run_due, every_s=rt.settings.republish_poll_s)]


SERVICE = ServiceDefinition[ShareSettings, ShareDeps](
    name="share",
    title="Learnloop share service",
    settings_cls=ShareSettings,
    routers=[directory.router, shares.router, publishers.router],
    build_deps=build_deps,
    consumers=consumers,
    recovery=recovery,
    jobs=jobs,
)
