"""Fan-out starts when a ``share.published`` event arrives (see :mod:`..usecases.fanout`); after a
``share.retracted`` its leftovers are cleared (the fan-out itself stopped on its own)."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import SharePublished, ShareRetracted
from learnloop_shared.kafka.consumers import Received

from ..usecases.fanout import FanOut


class FanOutHandlers:
    def __init__(self, fanout: FanOut) -> None:
        self._fanout = fanout

    async def on_published(self, batch: Sequence[Received]) -> None:
        for item in batch:
            data: SharePublished = item.event.data
            await self._fanout.fan_out(data.share_id)

    async def on_retracted(self, batch: Sequence[Received]) -> None:
        for item in batch:
            data: ShareRetracted = item.event.data
            await self._fanout.retracted(data.share_id)
