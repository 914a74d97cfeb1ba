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
from learnloop_shared.mongo import Doc, insert_many_new, is_duplicate
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.webhooks import DeliveryOut, WebhookIn, WebhookOut
from .owners import OwnerSet

log = logging.getLogger(__name__)
LEGACY = {"hook_id": {"$exists": False}}  # stored before ids were scoped: the id alone was the key


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

    async def adopt_legacy_ids(self) -> int:
        """Re-key webhooks stored under their bare id (and their deliveries) to ``"<owner>/<id>"``.

        Idempotent, and safe with several processes at once or after a crash midway: copies are
        inserted without overwriting (a copy already there, maybe already delivered, wins) and the
        originals are deleted only after their copies exist.
        """
        moved = 0
        async for old in self.hooks.find(LEGACY):
            key = webhook_key(old["owner_id"], old["_id"])
            hook = {k: v for k, v in old.items() if k not in ("lease_owner", "lease_until")}
            await insert_many_new(self.hooks, [{**hook, "_id": key, "hook_id": old["_id"]}])
            while batch := await self.deliveries.find({"webhook_id": old["_id"]}).limit(500).to_list():
                copies = [{**d, "_id": f"{key}|{d['notification_id']}", "webhook_id": key} for d in batch]
                await insert_many_new(self.deliveries, copies)
                await self.deliveries.delete_many({"_id": {"$in": [d["_id"] for d in batch]}})
            await self.hooks.delete_one({"_id": old["_id"], **LEGACY})
            moved += 1
        if moved:
            log.info("re-keyed %d webhooks to <owner>/<id>", moved)
        return moved

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
        for i in range(0, len(ids), 1000):
            async for doc in self.hooks.find({"owner_id": {"$in": ids[i : i + 1000]}, "hook_id": {"$exists": True}}):
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

    async def record(self, delivery_id: str, update: Doc) -> None:
        await self.deliveries.update_one({"_id": delivery_id}, update)

    async def list(self, webhook_id: str, extra: Doc, limit: int) -> list[Doc]:
        return (
            await self.deliveries.find({"webhook_id": webhook_id, **extra})
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
            .to_list()
        )
