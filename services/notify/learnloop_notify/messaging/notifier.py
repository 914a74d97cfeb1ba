"""Turn deliveries and learning events into notifications, in bulk."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import LearningAcknowledged, ShareDelivered, utcnow
from learnloop_shared.kafka.consumers import Received
from learnloop_shared.mongo import Doc

from ..domain.notifications import for_delivery, for_feedback
from ..storage.inbox import Inbox


class Notifier:
    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    async def handle(self, batch: Sequence[Received]) -> None:
        now = utcnow()
        docs: list[Doc] = []
        for item in batch:
            d = item.event.data
            if isinstance(d, ShareDelivered):
                docs.append(for_delivery(item.event.id, d, now))
            elif isinstance(d, LearningAcknowledged):
                docs.append(for_feedback(item.event.id, d, now))
        await self._inbox.add(docs)
