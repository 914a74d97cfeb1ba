"""Shares, their revisions and their fan-out progress.

A share document carries ``revision`` (1 when published; documents from before revisions have none, which
means 1) and ``revisions`` ``[{revision, at}]``; a revision is written only over the revision it was made
from, so concurrent revisions neither lose an update nor reuse a number. ``status`` ``retracted`` is final:
no fan-out step moves a retracted share to another status.
"""

from __future__ import annotations

from datetime import datetime

from learnloop_shared.events import CheckItem, utcnow
from learnloop_shared.mongo import After, Doc, newest_first_after
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.shares import Audience, DerivedShare, Share, ShareStatus

RETRACTED = ShareStatus.retracted.value
DELIVERED = ShareStatus.delivered.value
# What a running fan-out reads again at its checkpoints: whether to go on, and what deliveries carry.
CURRENT_FIELDS = ("status", "title", "summary", "url", "topics", "requires", "due_at", "revision")


def to_derived(doc: Doc) -> DerivedShare:
    return DerivedShare(
        share_id=doc["_id"], title=doc["title"], author_id=doc["author_id"], created_at=doc["created_at"]
    )


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
        requires=doc.get("requires", "learned"),
        due_at=doc.get("due_at"),
        reminders=doc.get("reminders", []),
        builds_on=doc.get("builds_on", []),
        unknown_builds_on=doc.get("unknown_builds_on", []),
        revision=doc.get("revision", 1),
        retracted_at=doc.get("retracted_at"),
        checks=checks_of(doc),
        pass_mark=doc.get("pass_mark", 1.0),
        max_attempts=doc.get("max_attempts", 3),
        has_checks=bool(doc.get("checks")),
    )


def checks_of(doc: Doc) -> list[CheckItem]:
    """The share's knowledge check with its answer key (shares from before checks have none)."""
    return [CheckItem.model_validate(c) for c in doc.get("checks") or []]


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
        # GET /v1/shares/{id}/derived: the shares whose builds_on holds an id, newest first.
        await self.coll.create_index(
            [("builds_on", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], name="builds_on_created"
        )

    async def insert(self, doc: Doc, session: AsyncClientSession | None = None) -> None:
        await self.coll.insert_one(doc, session=session)

    async def get(self, share_id: str) -> Doc | None:
        return await self.coll.find_one({"_id": share_id})

    async def by_idempotency_key(self, author_id: str, key: str) -> Doc | None:
        return await self.coll.find_one({"author_id": author_id, "idempotency_key": key})

    async def by_request(self, source: str, request_id: str) -> Doc | None:
        return await self.coll.find_one({"request_source": source, "request_id": request_id})

    async def referable(self, share_ids: list[str]) -> dict[str, Doc]:
        """Of ``share_ids``, the shares that exist and are not retracted (id → author and title)."""
        if not share_ids:
            return {}
        docs = await self.coll.find(
            {"_id": {"$in": share_ids}, "status": {"$ne": RETRACTED}}, {"author_id": 1, "title": 1}
        ).to_list()
        return {d["_id"]: d for d in docs}

    async def derived(self, share_id: str, after: After | None, limit: int) -> list[Doc]:
        """Up to ``limit`` unretracted shares that build on ``share_id``, newest first, strictly after ``after``."""
        return (
            await self.coll.find(
                {"builds_on": share_id, "status": {"$ne": RETRACTED}, **newest_first_after(after, "created_at")},
                {"title": 1, "author_id": 1, "created_at": 1},
            )
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
            .to_list()
        )

    async def revise(
        self, share_id: str, revision: int, fields: Doc, at: datetime, session: AsyncClientSession
    ) -> Doc | None:
        """Write revision ``revision + 1`` with ``fields`` set, only over ``revision`` of an unretracted share;
        None if the share moved on (another revision, or a retraction) meanwhile."""
        current: object = {"$in": [1, None]} if revision == 1 else revision
        return await self.coll.find_one_and_update(
            {"_id": share_id, "revision": current, "status": {"$ne": RETRACTED}},
            {
                "$set": {**fields, "revision": revision + 1},
                "$push": {"revisions": {"revision": revision + 1, "at": at}},
            },
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def retract(self, share_id: str, at: datetime, session: AsyncClientSession) -> Doc | None:
        """Mark the share retracted; None if it already was (or does not exist)."""
        return await self.coll.find_one_and_update(
            {"_id": share_id, "status": {"$ne": RETRACTED}},
            {"$set": {"status": RETRACTED, "retracted_at": at}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def current(self, share_id: str) -> Doc | None:
        """The fields a running fan-out reads again (see :data:`CURRENT_FIELDS`)."""
        return await self.coll.find_one({"_id": share_id}, dict.fromkeys(CURRENT_FIELDS, 1))

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
            {"_id": share_id, "status": {"$nin": [DELIVERED, RETRACTED]}},
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
        """Shares whose fan-out is under way, or finished at or after ``since`` (oldest first); never a
        retracted share."""
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
            {"_id": share_id, "status": {"$nin": [DELIVERED, RETRACTED]}},
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

    async def stopped(self, share_id: str) -> None:
        """Record that the fan-out stopped because the share was retracted (the first time only)."""
        await self.coll.update_one(
            {"_id": share_id, "fanout.stopped_at": None}, {"$set": {"fanout.stopped_at": utcnow()}}
        )

    async def finish(self, share_id: str, delivered: int) -> None:
        await self.coll.update_one(
            {"_id": share_id, "status": {"$ne": RETRACTED}},
            {
                "$set": {
                    "status": ShareStatus.delivered.value,
                    "delivered": delivered,
                    "audience_size": delivered,
                    "delivered_at": utcnow(),
                }
            },
        )
