"""Feedback digest buckets (one per share and window) and per-share feedback state."""

from __future__ import annotations

from datetime import datetime

from learnloop_shared.events import LearningAcknowledged, utcnow
from learnloop_shared.mongo import Doc
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..domain.digests import Counted, next_window, window_start


class DigestStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.buckets = db["digests"]
        self.state = db["share_feedback"]

    async def ensure_indexes(self) -> None:
        await self.buckets.create_index([("sent", ASCENDING), ("due_at", ASCENDING)])

    async def claim_first_learner(self, a: LearningAcknowledged, event_id: str) -> bool:
        """True for the event that is the share's first ``learned`` (also when that event is replayed)."""
        try:
            await self.state.update_one(
                {"_id": a.share_id, "first_learner_event": {"$exists": False}},
                {"$set": {"first_learner_event": event_id, "first_learner": a.recipient_id}},
                upsert=True,
            )
            return True
        except DuplicateKeyError:
            doc = await self.state.find_one({"_id": a.share_id})
            return bool(doc and doc.get("first_learner_event") == event_id)

    async def add(self, c: Counted, event_id: str, window_s: int, delay_until: datetime | None) -> None:
        """Count the event into the open bucket of its window (by event time), exactly once.

        A bucket is closed when its digest is being sent; an event that arrives for a closed window
        goes to the next open one. Replays find their event id in the bucket and add nothing.
        """
        start = window_start(c.at, window_s)
        for _ in range(1000):
            bucket_id = f"{c.share_id}|{int(start.timestamp())}"
            due = next_window(start, window_s)
            update: Doc = {
                "$push": {"event_ids": event_id},
                "$setOnInsert": {
                    "share_id": c.share_id,
                    "author_id": c.author_id,
                    "title": c.title,
                    "window_start": start,
                    "due_at": max(due, delay_until) if delay_until else due,
                    "sent": False,
                    "created_at": utcnow(),
                },
            }
            if c.rating is not None:
                update["$push"]["ratings"] = list(c.rating)
            if c.counter is not None:
                update["$inc"] = {f"counts.{c.counter}": 1}
            try:
                await self.buckets.update_one(
                    {"_id": bucket_id, "closed": False, "event_ids": {"$ne": event_id}}, update, upsert=True
                )
                return
            except DuplicateKeyError:
                doc = await self.buckets.find_one({"_id": bucket_id}, {"event_ids": 1})
                if doc and event_id in doc.get("event_ids", []):
                    return  # already counted
                start = next_window(start, window_s)  # that window is closed: use the next one
        raise RuntimeError("no open digest window found")

    async def due(self, now: datetime, limit: int = 100) -> list[Doc]:
        return await self.buckets.find({"sent": False, "due_at": {"$lte": now}}).limit(limit).to_list()

    async def close(self, bucket_id: str) -> Doc | None:
        return await self.buckets.find_one_and_update(
            {"_id": bucket_id, "sent": False}, {"$set": {"closed": True}}, return_document=ReturnDocument.AFTER
        )

    async def mark_sent(self, bucket_id: str) -> None:
        await self.buckets.update_one({"_id": bucket_id}, {"$set": {"sent": True, "sent_at": utcnow()}})
