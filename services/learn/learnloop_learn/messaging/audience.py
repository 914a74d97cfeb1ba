"""Learn who may acknowledge what: shares (authors, titles) and their deliveries, stored in bulk."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import ShareDelivered, SharePublished
from learnloop_shared.kafka.consumers import Received
from learnloop_shared.mongo import Doc

from ..domain.audience import Delivered, buckets_of
from ..storage.learning import LearningStore


class AudienceRecorder:
    def __init__(self, store: LearningStore) -> None:
        self._store = store

    async def handle(self, batch: Sequence[Received]) -> None:
        shares: dict[str, Doc] = {}
        delivered: list[Delivered] = []
        for item in batch:
            d = item.event.data
            if isinstance(d, SharePublished):
                shares[d.share_id] = _share_doc(d)
            elif isinstance(d, ShareDelivered):
                if d.share_id not in shares:
                    shares[d.share_id] = _share_doc(d)
                m = item.message
                delivered.append(Delivered(d.share_id, d.recipient_id, d.published_at, m.partition, m.offset))
        await self._store.upsert_shares(list(shares.values()))
        await self._store.add_recipients(buckets_of(delivered))


def _share_doc(d: SharePublished | ShareDelivered) -> Doc:
    return {"_id": d.share_id, "author_id": d.author_id, "title": d.title, "url": d.url, "published_at": d.published_at}
