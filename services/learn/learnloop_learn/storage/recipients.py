"""Who received which share: recipient buckets (see :mod:`..domain.audience`).

One unique multikey index over (users, delivered_at, share_id) does three jobs. It keeps each
(recipient, share) pair once across all buckets (``delivered_at`` is the share's publication time, the
same for all its deliveries), it answers "is this user a recipient of this share?", and it lists a
user's shares newest first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import (
    STREAM_BATCH,
    After,
    Doc,
    duplicates_only,
    ids_under,
    is_duplicate,
    newest_first_after,
    streamed,
)
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from ..domain.audience import Bucket, leftover

log = logging.getLogger(__name__)


class RecipientBuckets:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db["audience"]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index(
            [("users", ASCENDING), ("delivered_at", DESCENDING), ("share_id", DESCENDING)],
            unique=True,
            name="recipient_once",
        )

    async def add(self, buckets: Sequence[Bucket]) -> int:
        """Store the buckets; recipients already stored for a share are skipped. Returns how many were new."""
        if not buckets:
            return 0
        now = utcnow()
        try:
            await self.coll.insert_many([_doc(b, now) for b in buckets], ordered=False)
            return sum(len(b.users) for b in buckets)
        except BulkWriteError as exc:
            overlapping = duplicates_only(exc)
            if overlapping is None:
                raise
        added = sum(len(b.users) for i, b in enumerate(buckets) if i not in overlapping)
        for i in sorted(overlapping):
            added += await self._add_new_part(buckets[i], now)
        return added

    async def _add_new_part(self, bucket: Bucket, now: datetime) -> int:
        """A bucket that overlaps stored ones (a batch consumed again, a delivery sent twice): store the
        recipients it adds, if any. Rare, so a slower lookup is fine here."""
        same = await self.coll.find_one({"_id": bucket.id}, {"users": 1})  # usually: the same batch again
        part = leftover(bucket, set(same["users"])) if same else bucket
        while part is not None:
            part = leftover(part, await self._stored(part))
            if part is None:
                return 0
            try:
                await self.coll.insert_one(_doc(part, now))
            except Exception as exc:
                if not is_duplicate(exc):
                    raise
                continue  # another writer stored some of them meanwhile: look again
            skipped = len(bucket.users) - len(part.users)
            log.info("share %s: %d recipients were stored already", bucket.share_id, skipped)
            return len(part.users)
        return 0

    async def _stored(self, bucket: Bucket) -> set[str]:
        wanted = set(bucket.users)
        query = {"users": {"$in": list(wanted)}, "delivered_at": bucket.delivered_at, "share_id": bucket.share_id}
        stored: set[str] = set()
        async for doc in self.coll.find(query, {"users": 1}):
            stored.update(u for u in doc["users"] if u in wanted)
        return stored

    async def contains(self, share_id: str, delivered_at: datetime, user_id: str) -> bool:
        query = {"users": user_id, "delivered_at": delivered_at, "share_id": share_id}
        return await self.coll.find_one(query, {"_id": 1}) is not None

    async def count(self, share_id: str) -> int:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"_id": ids_under(share_id)}},
            {"$group": {"_id": None, "n": {"$sum": "$n"}}},
        ]
        rows = await (await self.coll.aggregate(pipeline)).to_list()
        return int(rows[0]["n"]) if rows else 0

    async def buckets_from(self, share_id: str, first: str | None) -> AsyncIterator[Doc]:
        """The share's buckets in ``_id`` order, starting at bucket ``first`` (inclusive; None: the first)."""
        lower = {"$gte": first} if first is not None else {"$gte": f"{share_id}|"}
        query = {"_id": {**lower, "$lt": f"{share_id}}}"}}
        async for doc in self.coll.find(query, {"users": 1}).sort("_id", ASCENDING).batch_size(20):
            yield doc

    async def with_stored_at(self, share_id: str) -> AsyncIterator[Doc]:
        """The share's buckets in ``_id`` order: ``users`` and ``stored_at`` (when learn stored them)."""
        query = {"_id": ids_under(share_id)}
        async for doc in self.coll.find(query, {"users": 1, "stored_at": 1}).sort("_id", ASCENDING).batch_size(20):
            yield doc

    async def sorted_recipients(self, share_id: str) -> AsyncIterator[Doc]:
        """Every recipient of the share once, by user id: ``{user, stored_at}`` (``stored_at`` of their
        bucket). The database sorts, spilling to disk when it must, and hands them over
        :data:`STREAM_BATCH` at a time, so memory here stays flat whatever the audience."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"_id": ids_under(share_id)}},
            {"$project": {"_id": 0, "users": 1, "stored_at": 1}},
            {"$unwind": "$users"},
            {"$sort": {"users": 1}},
            {"$project": {"user": "$users", "stored_at": 1}},
        ]
        async for doc in streamed(await self.coll.aggregate(pipeline, allowDiskUse=True, batchSize=STREAM_BATCH)):
            yield doc

    async def newest_shares_of_any(self, users: Sequence[str], after: After | None, limit: int) -> list[Doc]:
        """``{share_id, delivered_at}`` of up to ``limit`` shares delivered to any of ``users``, newest first
        (then by id, descending), strictly after ``after``. The cursor is read only as far as needed: one
        share can match in many buckets."""
        query: Doc = {"users": {"$in": list(users)}, **newest_first_after(after, "delivered_at", "share_id")}
        cursor = self.coll.find(query, {"_id": 0, "share_id": 1, "delivered_at": 1})
        found: dict[str, Doc] = {}
        async for doc in cursor.sort([("delivered_at", DESCENDING), ("share_id", DESCENDING)]).batch_size(100):
            found.setdefault(doc["share_id"], doc)
            if len(found) == limit:
                break
        await cursor.close()
        return list(found.values())

    async def recipients_among(self, share_ids: Sequence[str], users: Sequence[str]) -> AsyncIterator[Doc]:
        """For each bucket of ``share_ids`` holding any of ``users``: ``{share_id, stored_at, users}`` with
        ``users`` cut down to those of ``users`` it holds (a bucket's whole list is not read)."""
        wanted = list(users)
        pipeline: list[dict[str, Any]] = [
            {"$match": {"users": {"$in": wanted}, "share_id": {"$in": list(share_ids)}}},
            {"$project": {"_id": 0, "share_id": 1, "stored_at": 1, "users": {"$setIntersection": ["$users", wanted]}}},
        ]
        async for doc in await self.coll.aggregate(pipeline):
            yield doc

    async def newest_for(self, user_id: str, after: After | None, limit: int) -> list[Doc]:
        """``{share_id, delivered_at}`` of the user's shares, newest first, strictly after ``after``."""
        query: Doc = {"users": user_id, **newest_first_after(after, "delivered_at", "share_id")}
        cursor = self.coll.find(query, {"_id": 0, "share_id": 1, "delivered_at": 1})
        return await cursor.sort([("delivered_at", DESCENDING), ("share_id", DESCENDING)]).limit(limit).to_list()


def _doc(bucket: Bucket, now: datetime) -> Doc:
    return {
        "_id": bucket.id,
        "share_id": bucket.share_id,
        "delivered_at": bucket.delivered_at,
        "users": list(bucket.users),
        "n": len(bucket.users),
        "stored_at": now,
    }
