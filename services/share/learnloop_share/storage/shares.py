"""Shares and their fan-out progress."""

from __future__ import annotations

from datetime import datetime

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import After, Doc, newest_first_after
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.shares import Audience, Share, ShareStatus


def to_share(doc: Doc) -> Share:
    return Share(
        id=doc["_id"],
        author_id=doc["author_id"],
        title=doc["title"],
        summary=doc.get("summary"),
        url=doc.get("url"),
        topics=doc.get("topics", []),
        audience=Audience(**doc["audience"]),
        status=ShareStatus(doc["status"]),
        audience_size=doc.get("audience_size"),
        delivered=doc.get("delivered", 0),
        unknown_users=doc.get("unknown_users", []),
        unknown_teams=doc.get("unknown_teams", []),
        created_at=doc["created_at"],
        delivered_at=doc.get("delivered_at"),
    )


class Shares:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db["shares"]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index(
            [("author_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotency_key": {"$type": "string"}},
            name="author_idempotency_key",
        )
        await self.coll.create_index([("author_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)])
        await self.coll.create_index(
            [("request_source", ASCENDING), ("request_id", ASCENDING)],
            unique=True,
            partialFilterExpression={"request_id": {"$type": "string"}},
            name="request_source_id",
        )

    async def insert(self, doc: Doc, session: AsyncClientSession | None = None) -> None:
        await self.coll.insert_one(doc, session=session)

    async def get(self, share_id: str) -> Doc | None:
        return await self.coll.find_one({"_id": share_id})

    async def by_idempotency_key(self, author_id: str, key: str) -> Doc | None:
        return await self.coll.find_one({"author_id": author_id, "idempotency_key": key})

    async def by_request(self, source: str, request_id: str) -> Doc | None:
        return await self.coll.find_one({"request_source": source, "request_id": request_id})

    async def list_by_author(self, author_id: str, after: After | None, limit: int) -> list[Doc]:
        """Up to ``limit`` of the author's shares, newest first, strictly after ``after``."""
        return (
            await self.coll.find({"author_id": author_id, **newest_first_after(after, "created_at")})
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
            .to_list()
        )

    async def start_fanout(self, share_id: str) -> Doc | None:
        return await self.coll.find_one_and_update(
            {"_id": share_id, "status": {"$ne": ShareStatus.delivered.value}},
            [
                {
                    "$set": {
                        "status": ShareStatus.fanning_out.value,
                        "fanout.started_at": {"$ifNull": ["$fanout.started_at", "$$NOW"]},
                    }
                }
            ],
            return_document=ReturnDocument.AFTER,
        )

    async def fanouts_since(self, since: datetime) -> list[str]:
        """Shares whose fan-out is under way, or finished at or after ``since`` (oldest first)."""
        docs = (
            await self.coll.find(
                {
                    "$or": [
                        {"status": ShareStatus.fanning_out.value},
                        {"status": ShareStatus.delivered.value, "delivered_at": {"$gte": since}},
                    ]
                },
                {"_id": 1},
            )
            .sort("created_at", ASCENDING)
            .to_list()
        )
        return [d["_id"] for d in docs]

    async def restart_fanout(self, share_id: str) -> None:
        """Forget an unfinished fan-out's checkpoint, so that it starts again from the first recipient."""
        await self.coll.update_one(
            {"_id": share_id, "status": {"$ne": ShareStatus.delivered.value}},
            {"$unset": {"fanout.last_recipient": ""}, "$set": {"delivered": 0}},
        )

    async def set_resolved(self, share_id: str, audience_size: int) -> None:
        await self.coll.update_one(
            {"_id": share_id}, {"$set": {"audience_size": audience_size, "fanout.resolved": True}}
        )

    async def checkpoint(self, share_id: str, last_recipient: str, delivered: int) -> None:
        await self.coll.update_one(
            {"_id": share_id}, {"$set": {"fanout.last_recipient": last_recipient, "delivered": delivered}}
        )

    async def finish(self, share_id: str, delivered: int) -> None:
        await self.coll.update_one(
            {"_id": share_id},
            {
                "$set": {
                    "status": ShareStatus.delivered.value,
                    "delivered": delivered,
                    "audience_size": delivered,
                    "delivered_at": utcnow(),
                }
            },
        )
