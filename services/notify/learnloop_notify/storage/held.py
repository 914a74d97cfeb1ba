"""Notifications held back while their recipient is in quiet hours, until ``release_at``.

A held document is the notification itself (same ``_id``) plus ``release_at``. Releasing stores it in
the inbox under that id and only then deletes it here, so a crash in between, or two workers releasing
the same document, still stores it once (the inbox skips ids it has).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from learnloop_shared.mongo import Doc, insert_many_new
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase


class HeldStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db["held"]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("release_at", ASCENDING)])

    async def hold(self, docs: Sequence[Doc]) -> int:
        """Hold notifications (each with ``release_at``); one already held is not held twice."""
        return await insert_many_new(self.coll, docs)

    async def due(self, now: datetime, limit: int = 500) -> list[Doc]:
        return await self.coll.find({"release_at": {"$lte": now}}).sort("release_at", ASCENDING).limit(limit).to_list()

    async def remove(self, ids: Sequence[str]) -> None:
        if ids:
            await self.coll.delete_many({"_id": {"$in": list(ids)}})
