"""The share service: directory, share intake and audience fan-out."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import SharePublished
from learnloop_shared.kafka.consumers import ConsumerSpec
from learnloop_shared.runtime import Runtime, ServiceDefinition

from .api import directory, shares
from .config import ShareSettings
from .deps import ShareDeps, build_deps


def consumers(rt: Runtime[ShareSettings]) -> Sequence[ConsumerSpec]:
    deps: ShareDeps = rt.deps
    return [
        ConsumerSpec(
            name="fanout",
            topic=rt.settings.topics.shares,
            accept={SharePublished.event_type: SharePublished},
            handler=deps.fanout.handle,
        )
    ]


SERVICE = ServiceDefinition[ShareSettings](
    name="share",
    title="Learnloop share service",
    settings_cls=ShareSettings,
    routers=[directory.router, shares.router],
    build_deps=build_deps,
    consumers=consumers,
)
