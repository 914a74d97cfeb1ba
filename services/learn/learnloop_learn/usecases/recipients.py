"""Learning who may acknowledge what: the shares (authors, titles) and who received them, stored in bulk."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.documents import Doc

from ..domain.audience import Delivered, buckets_of
from ..storage.learning import LearningStore


class RecordRecipients:
    def __init__(self, store: LearningStore) -> None:
        self._store = store

    async def record(self, shares: Sequence[Doc], delivered: Sequence[Delivered]) -> None:
        """Idempotent: shares are stored once, each (recipient, share) pair once."""
        await self._store.upsert_shares(shares)
        await self._store.add_recipients(buckets_of(delivered))
