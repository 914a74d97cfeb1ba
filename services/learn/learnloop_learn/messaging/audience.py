"""Learn who may acknowledge what: shares (authors, titles) and their deliveries, stored in bulk."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import ShareDelivered, SharePublished, utcnow
from learnloop_shared.kafka.consumers import Received
from learnloop_shared.mongo import Doc

from ..storage.learning import LearningStore


class AudienceRecorder:
    def __init__(self, store: LearningStore) -> None:
        self._store = store

    async def handle(self, batch: Sequence[Received]) -> None:
        shares: dict[str, Doc] = {}
        recipients: list[Doc] = []
        now = utcnow()
        for item in batch:
            d = item.event.data
            if isinstance(d, SharePublished):
                shares[d.share_id] = {
                    "_id": d.share_id,
                    "author_id": d.author_id,
                    "title": d.title,
                    "url": d.url,
                    "published_at": d.published_at,
                }
            elif isinstance(d, ShareDelivered):
                shares.setdefault(
                    d.share_id,
                    {
                        "_id": d.share_id,
                        "author_id": d.author_id,
                        "title": d.title,
                        "url": d.url,
                        "published_at": d.published_at,
                    },
                )
                recipients.append(
                    {
                        "_id": f"{d.share_id}|{d.recipient_id}",
                        "share_id": d.share_id,
                        "user_id": d.recipient_id,
                        "author_id": d.author_id,
                        "title": d.title,
                        "url": d.url,
                        "delivered_at": d.published_at,
                        "done": False,
                        "stored_at": now,
                        "acknowledged": [],
                    }
                )
        await self._store.upsert_shares(list(shares.values()))
        await self._store.add_recipients(recipients)
