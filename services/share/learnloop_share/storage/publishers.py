"""Registered publishers; each CloudEvents source belongs to at most one publisher."""

from __future__ import annotations

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc, is_duplicate
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.publishers import PublisherIn, PublisherOut, SourcesTaken


def _out(doc: Doc) -> PublisherOut:
    return PublisherOut(id=doc["_id"], name=doc["name"], sources=doc["sources"], updated_at=doc["updated_at"])


class Publishers:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db["publishers"]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("sources", ASCENDING)], unique=True)

    async def put(self, publisher_id: str, body: PublisherIn) -> PublisherOut:
        """Create or replace; :class:`SourcesTaken` if a source belongs to another publisher (the unique
        index decides a race between two publishers registering the same source)."""
        taken = await self.other_owners(publisher_id, body.sources)
        if taken:
            raise SourcesTaken(taken)
        doc = {"name": body.name, "sources": list(dict.fromkeys(body.sources)), "updated_at": utcnow()}
        try:
            await self.coll.update_one({"_id": publisher_id}, {"$set": doc}, upsert=True)
        except Exception as exc:
            if is_duplicate(exc):
                raise SourcesTaken([]) from exc
            raise
        return _out({"_id": publisher_id, **doc})

    async def get(self, publisher_id: str) -> PublisherOut | None:
        doc = await self.coll.find_one({"_id": publisher_id})
        return _out(doc) if doc else None

    async def owner_of(self, source: str) -> str | None:
        doc = await self.coll.find_one({"sources": source}, {"_id": 1})
        return doc["_id"] if doc else None

    async def other_owners(self, publisher_id: str, sources: list[str]) -> list[str]:
        """Sources in ``sources`` already registered by another publisher."""
        taken = await self.coll.find({"sources": {"$in": sources}, "_id": {"$ne": publisher_id}}).to_list()
        return sorted({s for d in taken for s in d["sources"] if s in sources})
