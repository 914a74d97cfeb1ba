"""Send feedback digests when their window is over: a periodic job in every notify worker.

Correct with several workers and across crashes: a bucket is closed before its digest is built (later
events go to the next window), the notification id derives from the bucket id (a second worker or a
retry after a crash stores nothing twice), and the bucket is marked sent only after the notification
is stored (a crash in between means it is sent on the next pass, not lost).
"""

from __future__ import annotations

from learnloop_shared.events import utcnow

from ..domain.digests import digest_text, latest_ratings
from ..domain.notifications import for_digest
from ..storage.digests import DigestStore
from ..usecases.sink import NotificationSink


class DigestSender:
    def __init__(self, digests: DigestStore, sink: NotificationSink) -> None:
        self._digests = digests
        self._sink = sink

    async def send_due(self) -> int:
        sent = 0
        for bucket in await self._digests.due(utcnow()):
            closed = await self._digests.close(bucket["_id"])
            if closed is None:
                continue  # another worker sent it
            text = digest_text(closed.get("counts", {}), latest_ratings(closed.get("ratings", [])))
            await self._sink.store([for_digest(closed, text, utcnow())])
            await self._digests.mark_sent(bucket["_id"])
            sent += 1
        return sent
