"""Webhook subscriptions and their delivery queue (one queue per webhook, delivered in order).

A webhook id is its owner's name for it: two owners may both have webhook ``ci``. A webhook is stored
under the key ``"<owner>/<id>"`` (ids cannot contain "/", so a key names one pair), and its deliveries
refer to that key (``webhook_id``) and are stored as ``"<key>|<notification>"``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import After, Doc, find_in, insert_many_new, is_duplicate, newest_first_after
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.webhooks import DeliveryOut, WebhookIn, WebhookOut
from .owners import OwnerSet

log = logging.getLogger(__name__)


def webhook_key(owner_id: str, webhook_id: str) -> str:
    return f"{owner_id}/{webhook_id}"


def to_webhook(doc: Doc) -> WebhookOut:
    return WebhookOut(
        id=doc["hook_id"],
        url=doc["url"],
        events=doc["events"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def to_delivery(doc: Doc) -> DeliveryOut:
    return DeliveryOut(
        id=doc["_id"],
        notification_id=doc["notification_id"],
        event_type=doc["event_type"],
        status=doc["status"],
        attempts=doc["attempts"],
        last_status_code=doc.get("last_status_code"),
        last_error=doc.get("last_error"),
        next_attempt_at=doc.get("next_attempt_at") if doc["status"] == "pending" else None,
        created_at=doc["created_at"],
        delivered_at=doc.get("delivered_at"),
    )


class WebhookStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.hooks = db["webhooks"]
        self.deliveries = db["webhook_deliveries"]
        self.owners = OwnerSet(db, "webhooks", self.hooks, "owner_id")

    async def ensure_indexes(self) -> None:
        await self.hooks.create_index([("owner_id", ASCENDING)])
        await self.deliveries.create_index(
            [("webhook_id", ASCENDING), ("status", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        await self.deliveries.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])

    # --- subscriptions -------------------------------------------------------------------------
    async def get(self, webhook_id: str, owner_id: str) -> Doc | None:
        return await self.hooks.find_one({"_id": webhook_key(owner_id, webhook_id)})

    async def put(self, webhook_id: str, owner_id: str, body: WebhookIn) -> Doc:
        """Create or replace the owner's webhook ``webhook_id``."""
        now = utcnow()
        key = webhook_key(owner_id, webhook_id)
        doc: Doc | None = None
        for _ in range(2):  # a concurrent first PUT of the same key wins the insert: update that one
            try:
                doc = await self.hooks.find_one_and_update(
                    {"_id": key},
                    {
                        "$set": {
                            "url": body.url,
                            "events": list(dict.fromkeys(body.events)),
                            "secret": body.secret,
                            "updated_at": now,
                        },
                        "$setOnInsert": {"owner_id": owner_id, "hook_id": webhook_id, "created_at": now},
                    },
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                break
            except Exception as exc:
                if not is_duplicate(exc):
                    raise
        assert doc is not None
        await self.owners.changed()
        return doc

    async def delete(self, webhook_id: str, owner_id: str) -> bool:
        key = webhook_key(owner_id, webhook_id)
        result = await self.hooks.delete_one({"_id": key})
        if result.deleted_count:
            await self.owners.changed()
        await self.deliveries.delete_many({"webhook_id": key, "status": "pending"})
        return result.deleted_count == 1

    async def for_owners(self, owner_ids: Iterable[str]) -> dict[str, list[Doc]]:
        ids = list(set(owner_ids))
        owners = await self.owners.among(ids)
        if owners is not None:
            ids = sorted(owners)
        out: dict[str, list[Doc]] = {}
        async for doc in find_in(self.hooks, "owner_id", ids, {"hook_id": {"$exists": True}}):
            out.setdefault(doc["owner_id"], []).append(doc)
        return out

    # --- delivery queue ------------------------------------------------------------------------
    async def enqueue(self, docs: Sequence[Doc]) -> int:
        """Ids are "<webhook>|<notification>": a redelivered event enqueues nothing twice."""
        return await insert_many_new(self.deliveries, docs)

    async def webhooks_with_due(self, now: datetime, limit: int = 200) -> list[str]:
        ids = await self.deliveries.distinct("webhook_id", {"status": "pending", "next_attempt_at": {"$lte": now}})
        return list(ids)[:limit]

    async def lease(self, webhook_id: str, owner: str, for_s: float) -> Doc | None:
        """Exclusive right to deliver this webhook's queue for a while (one worker per webhook)."""
        now = utcnow()
        return await self.hooks.find_one_and_update(
            {"_id": webhook_id, "$or": [{"lease_until": {"$lt": now}}, {"lease_until": None}, {"lease_owner": owner}]},
            {"$set": {"lease_owner": owner, "lease_until": now + timedelta(seconds=for_s)}},
            return_document=ReturnDocument.AFTER,
        )

    async def release(self, webhook_id: str, owner: str) -> None:
        await self.hooks.update_one({"_id": webhook_id, "lease_owner": owner}, {"$set": {"lease_until": None}})

    async def head(self, webhook_id: str) -> Doc | None:
        """The oldest pending delivery: later ones wait for it (per-subscriber order)."""
        return await self.deliveries.find_one(
            {"webhook_id": webhook_id, "status": "pending"}, sort=[("created_at", ASCENDING), ("_id", ASCENDING)]
        )

    async def mark_delivered(self, delivery_id: str, attempts: int, status_code: int | None) -> None:
        fields = {"status": "delivered", "attempts": attempts, "last_status_code": status_code, "last_error": None}
        await self.deliveries.update_one({"_id": delivery_id}, {"$set": {**fields, "delivered_at": utcnow()}})

    async def schedule_retry(
        self, delivery_id: str, attempts: int, status_code: int | None, error: str, at: datetime
    ) -> None:
        fields = {"attempts": attempts, "last_status_code": status_code, "last_error": error, "next_attempt_at": at}
        await self.deliveries.update_one({"_id": delivery_id}, {"$set": fields})

    async def mark_dead(self, delivery_id: str, attempts: int, status_code: int | None, error: str) -> None:
        fields = {"status": "dead", "attempts": attempts, "last_status_code": status_code, "last_error": error}
        await self.deliveries.update_one({"_id": delivery_id}, {"$set": fields})

    async def list(self, webhook_id: str, status: str | None, after: After | None, limit: int) -> list[Doc]:
        """Up to ``limit`` deliveries of the webhook (with ``status``, if given), newest first, after ``after``."""
        query: Doc = {"webhook_id": webhook_id, **newest_first_after(after, "created_at")}
        if status:
            query["status"] = status
        return (
            await self.deliveries.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
            .to_list()
        )
