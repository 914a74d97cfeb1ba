"""Materialized audiences, deduplicated by the store (one document per share and recipient).

Used when an audience combines several sources (named users, teams, topics) that may overlap:
resolution writes here in batches and fan-out reads it back in recipient order, so neither holds the
whole audience in memory and a restart resumes after the last recipient delivered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc, insert_many_new
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase


class MaterializedAudience:
    def __init__(self, db: AsyncDatabase[Doc], collection: str = "audience", ttl_s: int | None = None) -> None:
        self.coll = db[collection]
        self._ttl = ttl_s

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("share_id", ASCENDING), ("user_id", ASCENDING)], unique=True)
        if self._ttl:
            await self.coll.create_index([("at", ASCENDING)], expireAfterSeconds=self._ttl)

    async def add(self, share_id: str, user_ids: Iterable[str], exclude: str) -> int:
        at = utcnow()
        docs = [
            {"_id": f"{share_id}|{u}", "share_id": share_id, "user_id": u, "at": at}
            for u in dict.fromkeys(user_ids)
            if u != exclude
        ]
        return await insert_many_new(self.coll, docs)

    async def size(self, share_id: str) -> int:
        return await self.coll.count_documents({"share_id": share_id})

    async def discard(self, share_id: str) -> None:
        await self.coll.delete_many({"share_id": share_id})

    async def recipients_after(self, share_id: str, after: str | None, batch_size: int) -> AsyncIterator[list[str]]:
        query: Doc = {"share_id": share_id}
        if after is not None:
            query["user_id"] = {"$gt": after}
        cursor = self.coll.find(query, {"user_id": 1, "_id": 0}, batch_size=batch_size).sort(
            [("share_id", ASCENDING), ("user_id", ASCENDING)]
        )
        async for batch in batched(cursor, "user_id", batch_size):
            yield batch


async def batched(cursor: AsyncIterator[Doc], field: str, size: int) -> AsyncIterator[list[str]]:
    batch: list[str] = []
    async for doc in cursor:
        batch.append(doc[field])
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
