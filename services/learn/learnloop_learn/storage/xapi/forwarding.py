"""Forwarding's state in MongoDB: the queue (a marker on the statement documents) and one state document.

- ``xapi_statements``: ``fwd`` is ``"pending"`` until the remote has the statement (then removed), or
  ``"rejected"`` with ``fwd_reason`` and ``fwd_rejected_at``. The partial index ``fwd_queue``
  (``fwd, stored, _id``) holds only marked documents, so reading the oldest pending batch and counting
  stay cheap however many statements were forwarded.
- ``xapi_forwarding`` (``_id`` ``"remote"``): the runner's lease (``lease_owner``, ``lease_until``: one
  runner across replicas), ``forwarded`` (count), ``last_forwarded_at``, ``last_error``, ``last_error_at``,
  ``consecutive_failures``, ``next_attempt_at`` (no attempt before it, by any replica).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from learnloop_shared.mongo import Doc
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ...domain.xapi.forwarding import FIELD, PENDING, REJECTED

STATE_ID = "remote"
RECENT_REJECTIONS = 10


class ForwardingStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.statements = db["xapi_statements"]
        self.state = db["xapi_forwarding"]

    async def ensure_indexes(self) -> None:
        await self.statements.create_index(
            [(FIELD, ASCENDING), ("stored", ASCENDING), ("_id", ASCENDING)],
            partialFilterExpression={FIELD: {"$exists": True}},
            name="fwd_queue",
        )

    # --- the lease ------------------------------------------------------------------------------
    async def claim(self, owner: str, lease_s: float, now: datetime) -> Doc | None:
        """Take (or renew) the lease; the state document, or None while another runner holds it."""
        until = now + timedelta(seconds=lease_s)
        query: Doc = {
            "_id": STATE_ID,
            "$or": [{"lease_owner": owner}, {"lease_until": {"$lte": now}}, {"lease_until": None}],
        }
        try:
            return await self.state.find_one_and_update(
                query,
                {"$set": {"lease_owner": owner, "lease_until": until}, "$setOnInsert": {"forwarded": 0}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return None  # the document exists and another runner's lease is live

    async def release(self, owner: str) -> None:
        await self.state.update_one({"_id": STATE_ID, "lease_owner": owner}, {"$set": {"lease_until": None}})

    # --- the queue ------------------------------------------------------------------------------
    async def pending(self, limit: int) -> list[Doc]:
        """The oldest ``limit`` pending statements, in (stored, _id) order."""
        cursor = (
            self.statements.find({FIELD: PENDING}, {"statement": 1, "stored": 1})
            .sort([(FIELD, ASCENDING), ("stored", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return await cursor.to_list()

    async def delivered(self, ids: Sequence[str], now: datetime) -> int:
        """Unmark them and count them (only those still pending: a replay is not counted twice)."""
        result = await self.statements.update_many({"_id": {"$in": list(ids)}, FIELD: PENDING}, {"$unset": {FIELD: ""}})
        done = result.modified_count
        update: Doc = {"$set": {"last_forwarded_at": now, "consecutive_failures": 0, "next_attempt_at": None}}
        if done:
            update["$inc"] = {"forwarded": done}
        await self.state.update_one({"_id": STATE_ID}, update)
        return done

    async def reject(self, statement_id: str, reason: str, now: datetime) -> bool:
        """Park it; the remote answered, so the failures in a row end here too."""
        result = await self.statements.update_one(
            {"_id": statement_id, FIELD: PENDING},
            {"$set": {FIELD: REJECTED, "fwd_reason": reason, "fwd_rejected_at": now}},
        )
        await self.state.update_one({"_id": STATE_ID}, {"$set": {"consecutive_failures": 0, "next_attempt_at": None}})
        return result.modified_count == 1

    async def failed(self, failures: int, reason: str, now: datetime, next_attempt_at: datetime) -> None:
        """The ``failures``-th failed attempt in a row: no other attempt before ``next_attempt_at``."""
        await self.state.update_one(
            {"_id": STATE_ID},
            {
                "$set": {
                    "last_error": reason,
                    "last_error_at": now,
                    "next_attempt_at": next_attempt_at,
                    "consecutive_failures": failures,
                }
            },
        )

    async def retry_rejected(self) -> int:
        """Put every parked statement back in the queue (e.g. after the remote was fixed); how many."""
        result = await self.statements.update_many(
            {FIELD: REJECTED}, {"$set": {FIELD: PENDING}, "$unset": {"fwd_reason": "", "fwd_rejected_at": ""}}
        )
        return result.modified_count

    # --- reading the state ----------------------------------------------------------------------
    async def read(self) -> dict[str, Any]:
        """The state document (without the lease) with the queue's counts, oldest pending and latest rejections."""
        state = await self.state.find_one({"_id": STATE_ID}) or {}
        pending = await self.statements.count_documents({FIELD: PENDING})
        rejected = await self.statements.count_documents({FIELD: REJECTED})
        oldest = await self.statements.find_one(
            {FIELD: PENDING}, {"stored": 1}, sort=[(FIELD, ASCENDING), ("stored", ASCENDING), ("_id", ASCENDING)]
        )
        recent = (
            await self.statements.find({FIELD: REJECTED}, {"fwd_reason": 1, "fwd_rejected_at": 1})
            .sort([(FIELD, ASCENDING), ("stored", DESCENDING), ("_id", DESCENDING)])
            .limit(RECENT_REJECTIONS)
            .to_list()
        )
        return {
            "pending": pending,
            "rejected": rejected,
            "oldest_pending_stored": oldest["stored"] if oldest else None,
            "recent_rejections": [
                {"id": d["_id"], "reason": d.get("fwd_reason", ""), "at": d.get("fwd_rejected_at")} for d in recent
            ],
            "forwarded": int(state.get("forwarded", 0)),
            "last_forwarded_at": state.get("last_forwarded_at"),
            "last_error": state.get("last_error"),
            "last_error_at": state.get("last_error_at"),
            "consecutive_failures": int(state.get("consecutive_failures", 0)),
            "next_attempt_at": state.get("next_attempt_at"),
        }
