"""The xAPI loop in's sweep: each pass takes the statements still pending once their grace period is over
(a request that stored them crashed or failed before taking them in), a batch at a time, until none is due.

Safe with any number of replicas: each statement is claimed (one conditional update) before it is taken,
and acknowledgements count once by their natural keys anyway (``usecases.xapi.loop_in``).
"""

from __future__ import annotations

import logging

from learnloop_shared.events import utcnow

from ..usecases.xapi.loop_in import LoopIn

log = logging.getLogger(__name__)
BATCH = 100


class LoopInSweep:
    def __init__(self, loop_in: LoopIn, batch: int = BATCH) -> None:
        self._loop_in = loop_in
        self._batch = batch

    async def run_due(self) -> int:
        """One pass. Returns how many statements it took."""
        taken = 0
        while True:
            ids = await self._loop_in.due(self._batch)
            if not ids:
                break
            taken += await self._loop_in.take(ids, utcnow())
            if len(ids) < self._batch:
                break
        if taken:
            log.info("xapi loop in: the sweep took %d statements", taken)
        return taken
