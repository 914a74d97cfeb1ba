"""Each user's notifications."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc, insert_many_new
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase


class Inbox:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db["notifications"]

    async def ensure_indexes(self) -> None:
        # One secondary index only: every index is paid for on each of the many inserts. Unread and
        # per-kind views filter within the user's range of this index.
        await self.coll.create_index([("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)])

    async def add(self, docs: Sequence[Doc]) -> int:
        """Store notifications; ids derive from event ids, so redelivered events add nothing."""
        return await insert_many_new(self.coll, docs)

    async def page(
        self, user_id: str, unread_only: bool, extra: Doc, limit: int, include_hidden: bool = False
    ) -> list[Doc]:
        query: Doc = {"user_id": user_id, **extra}
        if unread_only:
            query["read_at"] = None
        if not include_hidden:
            query["hidden"] = {"$ne": True}
        return (
            await self.coll.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()
        )

    async def unread_count(self, user_id: str) -> int:
        return await self.coll.count_documents({"user_id": user_id, "read_at": None, "hidden": {"$ne": True}})

    async def mark_all_read(self, user_id: str) -> int:
        result = await self.coll.update_many({"user_id": user_id, "read_at": None}, {"$set": {"read_at": utcnow()}})
        return result.modified_count

    async def watch(self, user_id: str, resume_after: Doc | None) -> AsyncChangeStream[Doc]:
        """New visible notifications of one user, in commit order, from any writer (works across replicas)."""
        pipeline: list[Doc] = [
            {
                "$match": {
                    "operationType": "insert",
                    "fullDocument.user_id": user_id,
                    "fullDocument.hidden": {"$ne": True},
                }
            }
        ]
        return await self.coll.watch(pipeline, resume_after=resume_after, max_await_time_ms=1000)

    async def mark_read(self, user_id: str, notification_id: str) -> Doc | None:
        doc = await self.coll.find_one_and_update(
            {"_id": notification_id, "user_id": user_id, "read_at": None},
            {"$set": {"read_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # already read, or not the caller's
            doc = await self.coll.find_one({"_id": notification_id, "user_id": user_id})
        return doc
