"""Fan-out: resolve a share's audience, then publish one delivery per recipient, in batches.

Resumable: recipients come in id order and progress is checkpointed after each batch is acknowledged
by Kafka; after a crash the redelivered ``share.published`` resumes after the last checkpoint.
Delivery event ids are derived from (share, recipient), so a batch re-sent after a crash is
deduplicated by the consumers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from learnloop_shared.events import Envelope, ShareDelivered, SharePublished, make_event, stable_event_id
from learnloop_shared.kafka.consumers import Received
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.mongo import Doc

from ..audience import AudienceResolver
from ..domain.shares import ShareStatus
from ..storage.shares import Shares

log = logging.getLogger(__name__)


class FanOut:
    def __init__(
        self, shares: Shares, resolver: AudienceResolver, publisher: Publisher, deliveries_topic: str, source: str
    ) -> None:
        self._shares = shares
        self._resolver = resolver
        self._publisher = publisher
        self._topic = deliveries_topic
        self._source = source

    async def handle(self, batch: Sequence[Received]) -> None:
        for item in batch:
            data = item.event.data
            if isinstance(data, SharePublished):
                await self.fan_out(data.share_id)

    async def fan_out(self, share_id: str) -> None:
        doc = await self._shares.get(share_id)
        if doc is None:
            log.warning("share.published for an unknown share", extra={"share_id": share_id})
            return
        if doc["status"] == ShareStatus.delivered.value:
            return
        doc = await self._shares.start_fanout(share_id) or doc
        plan = await self._resolver.plan(share_id, doc["audience"], doc["author_id"])
        if not doc.get("fanout", {}).get("resolved"):
            await self._resolver.materialize(plan, doc["audience"])
            await self._shares.set_resolved(share_id, await self._resolver.size(plan))
        last = doc.get("fanout", {}).get("last_recipient")
        delivered = int(doc.get("delivered", 0)) if last else 0
        async for recipients in self._resolver.recipients(plan, last):
            await self._publisher.publish_many(self._topic, [(r, self._delivery(doc, r)) for r in recipients])
            delivered += len(recipients)
            await self._shares.checkpoint(share_id, recipients[-1], delivered)
        await self._shares.finish(share_id, delivered)
        log.info("share delivered", extra={"share_id": share_id, "delivered": delivered})

    def _delivery(self, doc: Doc, recipient: str) -> Envelope[Any]:
        return make_event(
            ShareDelivered(
                share_id=doc["_id"],
                recipient_id=recipient,
                author_id=doc["author_id"],
                title=doc["title"],
                summary=doc.get("summary"),
                url=doc.get("url"),
                topics=tuple(doc.get("topics", [])),
                published_at=doc["created_at"],
            ),
            source=self._source,
            subject=doc["_id"],
            event_id=stable_event_id("share.delivered", doc["_id"], recipient),
        )
