"""Learn's own learning events (``learning.acknowledged``, ``learning.checked``, ``learning.answered`` on the
acknowledgements topic), turned into xAPI statements by :mod:`..usecases.xapi.loop_out`. The batch is
acknowledged (its offsets committed) only once its statements are stored."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.kafka.consumers import Received, Rejected

from ..usecases.xapi.loop_out import LoopOut


class XapiLoopHandlers:
    def __init__(self, out: LoopOut) -> None:
        self._out = out

    async def on_learning(self, batch: Sequence[Received]) -> list[Rejected]:
        refused = await self._out.record([item.event for item in batch])
        return [Rejected(batch[r.index], r.reason) for r in refused]
