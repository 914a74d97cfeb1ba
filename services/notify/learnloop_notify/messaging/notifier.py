"""Deliveries and acknowledgements from Kafka, handed to :mod:`..usecases.notifier` a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.kafka.consumers import Received

from ..usecases.notifier import Notifier


class NotifyHandlers:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def on_delivered(self, batch: Sequence[Received]) -> None:
        await self._notifier.delivered([item.event for item in batch])

    async def on_acknowledged(self, batch: Sequence[Received]) -> None:
        await self._notifier.acknowledged([item.event for item in batch])
