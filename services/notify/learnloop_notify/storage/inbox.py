"""Each user's notifications."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import After, Doc, insert_many_new, newest_first_after
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from ..domain.notifications import FeedEnded, FeedNotResumable


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
        self, user_id: str, unread_only: bool, after: After | None, limit: int, include_hidden: bool = False
    ) -> list[Doc]:
        """Up to ``limit`` notifications of the user, newest first, strictly after ``after``."""
        query: Doc = {"user_id": user_id, **newest_first_after(after, "created_at")}
        if unread_only:
            query["read_at"] = None
        if not include_hidden:
            query["hidden"] = {"$ne": True}
        return (
            await self.coll.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()
        )

    async def unread_count(self, user_id: str) -> int:
        return await self.coll.count_documents({"user_id": user_id, "read_at": None, "hidden": {"$ne": True}})

    async def unread_by_share(self, user_id: str) -> dict[str, int]:
        """The user's visible unread notifications counted per share (within the user's index range)."""
        pipeline: list[Doc] = [
            {"$match": {"user_id": user_id, "read_at": None, "hidden": {"$ne": True}}},
            {"$group": {"_id": "$share_id", "n": {"$sum": 1}}},
        ]
        cursor = await self.coll.aggregate(pipeline)
        return {d["_id"]: int(d["n"]) async for d in cursor}

    async def mark_all_read(self, user_id: str) -> int:
        result = await self.coll.update_many({"user_id": user_id, "read_at": None}, {"$set": {"read_at": utcnow()}})
        return result.modified_count

    async def watch(self, user_id: str, resume_after: dict[str, str] | None) -> NotificationFeed:
        """New visible notifications of one user, in commit order, from any writer (works across replicas).

        Raises :class:`FeedNotResumable` when ``resume_after`` can no longer be resumed."""
        pipeline: list[Doc] = [
            {
                "$match": {
                    "operationType": "insert",
                    "fullDocument.user_id": user_id,
                    "fullDocument.hidden": {"$ne": True},
                }
            }
        ]
        try:
            return NotificationFeed(await self.coll.watch(pipeline, resume_after=resume_after, max_await_time_ms=1000))
        except OperationFailure as exc:
            raise FeedNotResumable(str(exc)) from exc

    async def mark_read(self, user_id: str, notification_id: str) -> Doc | None:
        doc = await self.coll.find_one_and_update(
            {"_id": notification_id, "user_id": user_id, "read_at": None},
            {"$set": {"read_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # already read, or not the caller's
            doc = await self.coll.find_one({"_id": notification_id, "user_id": user_id})
        return doc


class NotificationFeed:
    """A change stream of new notifications; :meth:`next` waits up to a second for the next one."""

    def __init__(self, changes: AsyncChangeStream[Doc]) -> None:
        self._changes = changes

    async def next(self) -> tuple[Any, Doc] | None:
        """(resume token, notification document), or None if nothing arrived; :class:`FeedEnded` if the
        stream failed."""
        try:
            change = await self._changes.try_next()
        except PyMongoError as exc:
            raise FeedEnded(repr(exc)) from exc
        return None if change is None else (change["_id"], change["fullDocument"])

    async def close(self) -> None:
        await self._changes.close()
