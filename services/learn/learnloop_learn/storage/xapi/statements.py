"""The LRS's statements (collection ``xapi_statements``; document shape in ``domain.xapi.statements``)."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.mongo import Doc, duplicates_only
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError


class StatementStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.statements = db["xapi_statements"]

    async def ensure_indexes(self) -> None:
        """One index per filter, each ending in ``stored`` so a filtered page is read in order."""
        s = self.statements
        await s.create_index([("stored", DESCENDING), ("_id", DESCENDING)])
        for field in ("agents", "related_agents", "verb", "activity", "related_activities", "registration"):
            await s.create_index([(field, ASCENDING), ("stored", DESCENDING)], sparse=field == "registration")
        await s.create_index([("voids", ASCENDING)], sparse=True)
        await s.create_index([("authority_key", ASCENDING), ("stored", DESCENDING)])

    async def insert_new(self, docs: Sequence[Doc]) -> set[str]:
        """Insert unordered in one bulk write; returns the ids that existed already (not written)."""
        if not docs:
            return set()
        try:
            await self.statements.insert_many(list(docs), ordered=False)
            return set()
        except BulkWriteError as exc:
            positions = duplicates_only(exc)
            if positions is None:
                raise
            return {str(docs[i]["_id"]) for i in positions}

    async def get(self, statement_id: str) -> Doc | None:
        return await self.statements.find_one({"_id": statement_id})

    async def get_many(self, ids: Sequence[str]) -> list[Doc]:
        return await self.statements.find({"_id": {"$in": list(ids)}}).to_list(None)
