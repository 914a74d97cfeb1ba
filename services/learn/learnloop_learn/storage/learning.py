"""The learn service's store: shares it knows of, who received them, and acknowledgements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from learnloop_shared.mongo import Doc, insert_many_new
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.acknowledgements import COMPLETES_LEARNING


class LearningStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.shares = db["shares"]
        self.recipients = db["recipients"]
        self.acks = db["acknowledgements"]

    async def ensure_indexes(self) -> None:
        # Recipients are keyed "<share>|<user>": the _id index serves per-share lookups and counts.
        await self.recipients.create_index(
            [("user_id", ASCENDING), ("done", ASCENDING), ("delivered_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self.acks.create_index([("share_id", ASCENDING), ("kind", ASCENDING), ("at", ASCENDING)])

    # --- from events -------------------------------------------------------------------------
    async def upsert_shares(self, shares: Sequence[Doc]) -> None:
        ops = [UpdateOne({"_id": s["_id"]}, {"$setOnInsert": s}, upsert=True) for s in shares]
        if ops:
            await self.shares.bulk_write(ops, ordered=False)

    async def add_recipients(self, docs: Sequence[Doc]) -> int:
        return await insert_many_new(self.recipients, docs)

    # --- queries -----------------------------------------------------------------------------
    async def share(self, share_id: str) -> Doc | None:
        return await self.shares.find_one({"_id": share_id})

    async def recipient(self, share_id: str, user_id: str) -> Doc | None:
        return await self.recipients.find_one({"_id": f"{share_id}|{user_id}"})

    async def recipient_count(self, share_id: str) -> int:
        # "}" sorts right after "|": the range covers exactly the ids "<share_id>|...".
        return await self.recipients.count_documents({"_id": {"$gte": f"{share_id}|", "$lt": f"{share_id}}}"}})

    async def counts(self, share_id: str) -> tuple[dict[str, int], int]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"share_id": share_id, "kind": {"$ne": "question"}}},
            {"$group": {"_id": "$kind", "n": {"$sum": 1}, "rating_sum": {"$sum": {"$ifNull": ["$rating", 0]}}}},
        ]
        counts: dict[str, int] = {}
        rating_sum = 0
        cursor = await self.acks.aggregate(pipeline)
        async for row in cursor:
            counts[row["_id"]] = int(row["n"])
            if row["_id"] == "rated":
                rating_sum = int(row["rating_sum"])
        return counts, rating_sum

    async def questions(self, share_id: str, limit: int = 500) -> list[Doc]:
        return (
            await self.acks.find({"share_id": share_id, "kind": "question"})
            .sort("at", ASCENDING)
            .limit(limit)
            .to_list()
        )

    async def pending_for(self, user_id: str, extra: Doc, limit: int) -> list[Doc]:
        return (
            await self.recipients.find({"user_id": user_id, "done": False, **extra})
            .sort([("delivered_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
            .to_list()
        )

    # --- writes inside a transaction ------------------------------------------------------------
    async def insert_ack(self, doc: Doc, session: AsyncClientSession) -> None:
        await self.acks.insert_one(doc, session=session)

    async def set_rating(self, doc: Doc, session: AsyncClientSession) -> Doc | None:
        """Upsert the recipient's rating; returns the previous document (None if new)."""
        return await self.acks.find_one_and_update(
            {"_id": doc["_id"]},
            {
                "$set": {"rating": doc["rating"], "updated_at": doc["at"]},
                "$setOnInsert": {k: v for k, v in doc.items() if k not in ("_id", "rating")},
            },
            upsert=True,
            session=session,
        )

    async def mark_progress(self, share_id: str, user_id: str, kind: str, session: AsyncClientSession) -> None:
        update: Doc = {"$addToSet": {"acknowledged": kind}}
        if kind in COMPLETES_LEARNING:
            update["$set"] = {"done": True}
        await self.recipients.update_one({"_id": f"{share_id}|{user_id}"}, update, session=session)
