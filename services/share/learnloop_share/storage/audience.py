"""The resolved audience of each share, deduplicated by the store (one document per recipient).

Resolution writes here in batches; fan-out then reads it back in recipient order, so neither holds
the whole audience in memory and a restart resumes after the last recipient delivered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from learnloop_shared.mongo import Doc, insert_many_new
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase


class AudienceStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db["audience"]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("share_id", ASCENDING), ("user_id", ASCENDING)], unique=True)

    async def add(self, share_id: str, user_ids: Iterable[str], exclude: str) -> int:
        docs = [
            {"_id": f"{share_id}|{u}", "share_id": share_id, "user_id": u}
            for u in dict.fromkeys(user_ids)
            if u != exclude
        ]
        return await insert_many_new(self.coll, docs)

    async def size(self, share_id: str) -> int:
        return await self.coll.count_documents({"share_id": share_id})

    async def recipients_after(self, share_id: str, after: str | None, batch_size: int) -> AsyncIterator[list[str]]:
        query: Doc = {"share_id": share_id}
        if after is not None:
            query["user_id"] = {"$gt": after}
        cursor = self.coll.find(query, {"user_id": 1, "_id": 0}, batch_size=batch_size).sort(
            [("share_id", ASCENDING), ("user_id", ASCENDING)]
        )
        batch: list[str] = []
        async for doc in cursor:
            batch.append(doc["user_id"])
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
