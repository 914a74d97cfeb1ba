"""The learn service's store: shares it knows of, who received them, acknowledgements and progress."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.mongo import Doc, upsert_many
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.acknowledgements import COMPLETES_LEARNING
from ..domain.audience import Bucket
from .recipients import RecipientBuckets

log = logging.getLogger(__name__)
STORED_SHARES_KEPT = 10_000


class LearningStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.shares = db["shares"]
        self.audience = RecipientBuckets(db)
        self.progress = db["progress"]  # "<share>|<user>": what a recipient acknowledged, once they have
        self.acks = db["acknowledgements"]
        self._stored_shares: OrderedDict[str, None] = OrderedDict()  # the most recent ones
        self._read_shares: OrderedDict[str, Doc] = OrderedDict()  # recently read, most recent last

    async def ensure_indexes(self) -> None:
        await self.audience.ensure_indexes()
        await self.acks.create_index([("share_id", ASCENDING), ("kind", ASCENDING), ("at", ASCENDING)])

    # --- from events -------------------------------------------------------------------------
    async def upsert_shares(self, shares: Sequence[Doc]) -> None:
        """Store shares not stored yet. Share documents never change once written, so a share this
        process has stored is not written again (a large fan-out brings the same share in every batch)."""
        new = [s for s in shares if s["_id"] not in self._stored_shares]
        if not new:
            return
        await upsert_many(self.shares, [UpdateOne({"_id": s["_id"]}, {"$setOnInsert": s}, upsert=True) for s in new])
        for s in new:
            self._stored_shares[s["_id"]] = None
            if len(self._stored_shares) > STORED_SHARES_KEPT:
                self._stored_shares.popitem(last=False)

    async def add_recipients(self, buckets: Sequence[Bucket]) -> int:
        return await self.audience.add(buckets)

    # --- queries -----------------------------------------------------------------------------
    async def share(self, share_id: str) -> Doc | None:
        """The share as stored. Share documents never change once written (see :meth:`upsert_shares`),
        so one read stays valid: acknowledgements come in bursts for the same few shares. A share not
        stored yet is looked up again next time. Callers must not change the document."""
        if (known := self._read_shares.get(share_id)) is not None:
            self._read_shares.move_to_end(share_id)
            return known
        doc = await self.shares.find_one({"_id": share_id})
        if doc is not None:
            self._read_shares[share_id] = doc
            if len(self._read_shares) > STORED_SHARES_KEPT:
                self._read_shares.popitem(last=False)
        return doc

    async def is_recipient(self, share: Doc, user_id: str) -> bool:
        return await self.audience.contains(share["_id"], share["published_at"], user_id)

    async def recipient_count(self, share_id: str) -> int:
        return await self.audience.count(share_id)

    async def counts(self, share_id: str) -> tuple[dict[str, int], int]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"share_id": share_id, "kind": {"$ne": "question"}}},
            {"$group": {"_id": "$kind", "n": {"$sum": 1}, "rating_sum": {"$sum": {"$ifNull": ["$rating", 0]}}}},
        ]
        counts: dict[str, int] = {}
        rating_sum = 0
        cursor = await self.acks.aggregate(pipeline)
        async for row in cursor:
            counts[row["_id"]] = int(row["n"])
            if row["_id"] == "rated":
                rating_sum = int(row["rating_sum"])
        return counts, rating_sum

    async def questions(self, share_id: str, limit: int = 500) -> list[Doc]:
        return (
            await self.acks.find({"share_id": share_id, "kind": "question"})
            .sort("at", ASCENDING)
            .limit(limit)
            .to_list()
        )

    async def pending_for(self, user_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Doc]:
        """Up to ``limit`` shares delivered to the user and not completed yet, newest first.

        Each item: ``_id`` (the share id), ``share_id``, ``title``, ``author_id``, ``url``,
        ``delivered_at`` and ``acknowledged``. Completed shares are skipped as the list is read.
        """
        items: list[Doc] = []
        chunk = max(limit, 50)
        while len(items) < limit:
            rows = await self.audience.newest_for(user_id, after, chunk)
            ids = [r["share_id"] for r in rows]
            progress = {
                d["share_id"]: d async for d in self.progress.find({"_id": {"$in": [f"{s}|{user_id}" for s in ids]}})
            }
            shares = {d["_id"]: d async for d in self.shares.find({"_id": {"$in": ids}})}
            for r in rows:
                p, s = progress.get(r["share_id"], {}), shares.get(r["share_id"])
                if p.get("done") or s is None:
                    continue
                items.append(
                    {
                        "_id": r["share_id"],
                        "share_id": r["share_id"],
                        "title": s["title"],
                        "author_id": s["author_id"],
                        "url": s.get("url"),
                        "delivered_at": r["delivered_at"],
                        "acknowledged": p.get("acknowledged", []),
                    }
                )
                if len(items) == limit:
                    break
            if len(rows) < chunk:
                break
            after = (rows[-1]["delivered_at"], rows[-1]["share_id"])
        return items

    # --- writes inside a transaction ------------------------------------------------------------
    async def insert_ack(self, doc: Doc, session: AsyncClientSession) -> None:
        await self.acks.insert_one(doc, session=session)

    async def set_rating(self, doc: Doc, session: AsyncClientSession) -> Doc | None:
        """Upsert the recipient's rating; returns the previous document (None if new)."""
        return await self.acks.find_one_and_update(
            {"_id": doc["_id"]},
            {
                "$set": {"rating": doc["rating"], "updated_at": doc["at"]},
                "$setOnInsert": {k: v for k, v in doc.items() if k not in ("_id", "rating")},
            },
            upsert=True,
            session=session,
        )

    async def mark_progress(self, share_id: str, user_id: str, kind: str, session: AsyncClientSession) -> None:
        update: Doc = {"$addToSet": {"acknowledged": kind}}
        if kind in COMPLETES_LEARNING:
            update["$set"] = {"done": True}
        update["$setOnInsert"] = {"share_id": share_id, "user_id": user_id}
        await self.progress.update_one({"_id": f"{share_id}|{user_id}"}, update, upsert=True, session=session)
