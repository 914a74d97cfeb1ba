"""Deliveries, learning events and share changes from Kafka, handed to :mod:`..usecases.notifier` by batch."""

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

    async def on_checked(self, batch: Sequence[Received]) -> None:
        await self._notifier.checked([item.event for item in batch])

    async def on_reminded(self, batch: Sequence[Received]) -> None:
        await self._notifier.reminded([item.event for item in batch])

    async def on_overdue(self, batch: Sequence[Received]) -> None:
        await self._notifier.overdue([item.event for item in batch])

    async def on_answered(self, batch: Sequence[Received]) -> None:
        await self._notifier.answered([item.event for item in batch])

    async def on_built_on(self, batch: Sequence[Received]) -> None:
        await self._notifier.built_on([item.event for item in batch])

    async def on_revised(self, batch: Sequence[Received]) -> None:
        await self._notifier.share_revised([item.event for item in batch])

    async def on_retracted(self, batch: Sequence[Received]) -> None:
        await self._notifier.share_retracted([item.event for item in batch])
