"""The share service: directory, share intake and audience fan-out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from learnloop_shared.events import SharePublished, ShareRequested
from learnloop_shared.kafka.consumers import ConsumerSpec
from learnloop_shared.recovery import Step
from learnloop_shared.runtime import Runtime, ServiceDefinition

from .api import directory, publishers, shares
from .config import ShareSettings
from .deps import ShareDeps, build_deps
from .messaging.requests import decode_request


def consumers(rt: Runtime[ShareSettings]) -> Sequence[ConsumerSpec]:
    deps: ShareDeps = rt.deps
    return [
        ConsumerSpec(
            name="fanout",
            topic=rt.settings.topics.shares,
            accept={SharePublished.event_type: SharePublished},
            handler=deps.on_shares.handle,
        ),
        ConsumerSpec(
            name="share-requests",
            topic=rt.settings.topics.share_requests,
            accept={ShareRequested.event_type: ShareRequested},
            handler=deps.on_requests.handle,
            decoder=decode_request,
        ),
    ]


def recovery(rt: Runtime[ShareSettings]) -> Mapping[str, Step]:
    """On a new Kafka cluster: deliveries of recent fan-outs may never have been consumed."""
    deps: ShareDeps = rt.deps
    return {"fanouts": deps.fanout.redrive_recent}


SERVICE = ServiceDefinition[ShareSettings](
    name="share",
    title="Learnloop share service",
    settings_cls=ShareSettings,
    routers=[directory.router, shares.router, publishers.router],
    build_deps=build_deps,
    consumers=consumers,
    recovery=recovery,
)
