"""Fan-out: resolve a share's audience into the store, then publish one delivery per recipient.

Resumable: the audience is written idempotently, and delivery progress is checkpointed after each
batch is acknowledged by Kafka. Delivery event ids are derived from (share, recipient), so a batch
re-sent after a crash is deduplicated by the consumers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from learnloop_shared.events import Envelope, ShareDelivered, SharePublished, make_event, stable_event_id
from learnloop_shared.kafka.consumers import Received
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.mongo import Doc

from ..domain.shares import ShareStatus
from ..storage.audience import AudienceStore
from ..storage.directory import Directory
from ..storage.shares import Shares

log = logging.getLogger(__name__)


class FanOut:
    def __init__(
        self,
        shares: Shares,
        directory: Directory,
        audience: AudienceStore,
        publisher: Publisher,
        deliveries_topic: str,
        source: str,
        batch_size: int,
    ) -> None:
        self._shares = shares
        self._directory = directory
        self._audience = audience
        self._publisher = publisher
        self._topic = deliveries_topic
        self._source = source
        self._batch = batch_size

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
        if not doc.get("fanout", {}).get("resolved"):
            size = await self._resolve(doc)
            await self._shares.set_resolved(share_id, size)
        delivered = await self._deliver(doc)
        await self._shares.finish(share_id, delivered)
        log.info("share delivered", extra={"share_id": share_id, "delivered": delivered})

    async def _resolve(self, doc: Doc) -> int:
        share_id, author = doc["_id"], doc["author_id"]
        audience = doc["audience"]
        for i in range(0, len(audience["users"]), self._batch):
            await self._audience.add(share_id, audience["users"][i : i + self._batch], exclude=author)
        if audience["teams"]:
            teams = await self._directory.expand_teams(audience["teams"])
            async for members in self._directory.team_members(teams, self._batch):
                await self._audience.add(share_id, members, exclude=author)
        if audience["topics"]:
            async for users in self._directory.topic_subscribers(audience["topics"], self._batch):
                await self._audience.add(share_id, users, exclude=author)
        return await self._audience.size(share_id)

    async def _deliver(self, doc: Doc) -> int:
        share_id = doc["_id"]
        last = doc.get("fanout", {}).get("last_recipient")
        delivered = int(doc.get("delivered", 0)) if last else 0
        async for recipients in self._audience.recipients_after(share_id, last, self._batch):
            events = [(r, self._delivery(doc, r)) for r in recipients]
            await self._publisher.publish_many(self._topic, events)
            delivered += len(recipients)
            await self._shares.checkpoint(share_id, recipients[-1], delivered)
        return delivered

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
