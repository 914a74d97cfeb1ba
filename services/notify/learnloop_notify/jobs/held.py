"""Release notifications held during quiet hours once ``release_at`` has passed: a periodic job in every
notify worker.

Safe with several workers and across crashes without a lease: a released notification keeps its id, so
the inbox (and each webhook queue) stores it once however many workers release it; it is deleted from
``held`` only after it is stored. It is stamped with the release time, so it appears at the top of the
inbox and on the live stream when the quiet hours end.
"""

from __future__ import annotations

from learnloop_shared.events import utcnow

from ..storage.held import HeldStore
from ..usecases.sink import NotificationSink


class HeldReleaser:
    def __init__(self, held: HeldStore, sink: NotificationSink, batch: int = 500) -> None:
        self._held = held
        self._sink = sink
        self._batch = batch

    async def release_due(self) -> int:
        released = 0
        while docs := await self._held.due(utcnow(), self._batch):
            now = utcnow()
            notes = [{**{k: v for k, v in d.items() if k != "release_at"}, "created_at": now} for d in docs]
            await self._sink.store(notes, hold=False)
            await self._held.remove([d["_id"] for d in docs])
            released += len(docs)
            if len(docs) < self._batch:
                break
        return released
