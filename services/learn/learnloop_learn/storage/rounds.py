"""Running reminder rounds (the execution side; the plan side is ``round_plan``): claim a due round
with a lease, move its checkpoint, end or cancel it — and the reads a round needs (the share as stored
now, its recipient buckets in ``_id`` order, who completed).

Two documents per round, on purpose:

- ``rounds`` (the plan's document): state, lease (``lease_owner``, ``lease_until``), ``started_at``,
  ``claims``. Written without transactions (claim, renew, finish, cancel).
- ``round_checkpoints`` (same ``_id``): the position (``after_bucket``/``after_offset``, or
  ``after_progress``) and ``reminded``. Moved only inside the transaction that stores the batch's event,
  and only from the position the runner read (:meth:`RoundStore.checkpoint`): whatever happens to leases,
  a batch is committed once.

Why apart: a runner killed inside a checkpoint transaction leaves it open on the server until the
server's transaction lifetime runs out (MongoDB ``transactionLifetimeLimitSeconds``, 60 s; the local
SecantusDB likewise, and it reaps only when another transaction runs), holding the documents it wrote.
Were the lease in that document, no other runner could even claim the round meanwhile. This way the
next runner claims at once and its own checkpoint transaction waits (retried as transient) for the
dead one to be aborted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from learnloop_shared.mongo import Doc, in_transaction
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.follow_through import confirm_cycle
from ..domain.rounds import Position


class LeaseLost(Exception):
    """The round is no longer this runner's: its lease was taken over, or it was cancelled or ended."""


def _share_range(share_id: str) -> Doc:
    # Bucket and progress ids start with "<share_id>|", and "}" sorts right after "|".
    return {"$gt": f"{share_id}|", "$lt": f"{share_id}}}"}


class RoundStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._client = db.client
        self.rounds = db["rounds"]
        self.checkpoints = db["round_checkpoints"]
        self.shares = db["shares"]
        self.audience = db["audience"]
        self.progress = db["progress"]

    async def ensure_indexes(self) -> None:
        # The claim's two arms: planned rounds by due time, running ones by lease expiry.
        await self.rounds.create_index([("state", ASCENDING), ("due", ASCENDING)])
        await self.rounds.create_index([("state", ASCENDING), ("lease_until", ASCENDING)])

    # --- claiming and leases ---------------------------------------------------------------------
    async def claim(self, owner: str, lease_s: float, now: datetime) -> Doc | None:
        """Atomically take one due round: planned with ``due <= now``, or running with an expired lease
        (its runner died). ``started_at`` keeps the first claim's time; ``claims`` counts the takers."""
        query: Doc = {
            "$or": [
                {"state": "planned", "due": {"$lte": now}},
                {"state": "running", "lease_until": {"$lte": now}},
            ]
        }
        update: list[Doc] = [
            {
                "$set": {
                    "state": "running",
                    "lease_owner": owner,
                    "lease_until": now + timedelta(seconds=lease_s),
                    "started_at": {"$ifNull": ["$started_at", now]},
                    "claims": {"$add": [{"$ifNull": ["$claims", 0]}, 1]},
                }
            }
        ]
        return await self.rounds.find_one_and_update(
            query, update, sort=[("due", ASCENDING)], return_document=ReturnDocument.AFTER
        )

    async def renew(self, round_id: str, owner: str, lease_s: float, now: datetime) -> None:
        result = await self.rounds.update_one(
            {"_id": round_id, "state": "running", "lease_owner": owner},
            {"$set": {"lease_until": now + timedelta(seconds=lease_s)}},
        )
        if result.matched_count == 0:
            raise LeaseLost(round_id)

    async def position(self, round_id: str) -> Doc:
        """The round's checkpoint document, created (position: the start) on first use. Read outside any
        transaction, it never waits for a dead runner's open one: it sees what was committed."""
        doc = await self.checkpoints.find_one({"_id": round_id})
        if doc is None:
            start: Doc = {"after_bucket": None, "after_offset": 0, "after_progress": None, "reminded": 0}
            await self.checkpoints.update_one({"_id": round_id}, {"$setOnInsert": start}, upsert=True)
            doc = await self.checkpoints.find_one({"_id": round_id}) or {"_id": round_id, **start}
        return doc

    async def checkpoint(
        self, round_id: str, owner: str, before: Doc, after: Doc, reminded: int, session: AsyncClientSession
    ) -> None:
        """Inside the batch's transaction: move the position from ``before`` to ``after`` (field → value),
        adding ``reminded``. Raises :class:`LeaseLost` (abort the transaction) if the round is no longer
        this runner's or its position moved (another runner committed this batch)."""
        held = await self.rounds.find_one(
            {"_id": round_id, "state": "running", "lease_owner": owner}, {"_id": 1}, session=session
        )
        if held is None:
            raise LeaseLost(round_id)
        result = await self.checkpoints.update_one(
            {"_id": round_id, **before}, {"$set": after, "$inc": {"reminded": reminded}}, session=session
        )
        if result.matched_count == 0:
            raise LeaseLost(round_id)

    async def finish(self, round_id: str, owner: str, now: datetime, **fields: Any) -> None:
        """End the round ``done``, with its ``reminded`` count and ``fields`` (e.g. the overdue counts)."""
        ck = await self.checkpoints.find_one({"_id": round_id}, {"reminded": 1})
        done: Doc = {"state": "done", "finished_at": now, "reminded": int((ck or {}).get("reminded", 0)), **fields}
        result = await self.rounds.update_one(
            {"_id": round_id, "state": "running", "lease_owner": owner},
            {"$set": done, "$unset": {"lease_until": ""}},
        )
        if result.matched_count == 0:
            raise LeaseLost(round_id)

    async def cancel(self, round_id: str, owner: str, now: datetime, why: str) -> None:
        """Cancel a round this runner holds (its share was retracted, or the step is superseded)."""
        await self.rounds.update_one(
            {"_id": round_id, "state": "running", "lease_owner": owner},
            {"$set": {"state": "cancelled", "cancelled_at": now, "cancel_reason": why}, "$unset": {"lease_until": ""}},
        )

    async def round(self, round_id: str) -> Doc | None:
        return await self.rounds.find_one({"_id": round_id})

    # --- what a round reads --------------------------------------------------------------------
    async def share(self, share_id: str) -> Doc | None:
        """The share as stored now (never a cached copy: revisions and retractions change it)."""
        return await self.shares.find_one({"_id": share_id})

    async def buckets_from(self, share_id: str, pos: Position, page: int = 20) -> AsyncIterator[Doc]:
        """The share's recipient buckets in ``_id`` order from ``pos`` (its bucket included, as it may be
        handled only in part), read ``page`` at a time: memory stays flat whatever the audience."""
        low: Doc = {"$gte": pos.bucket} if pos.bucket is not None else {"$gt": f"{share_id}|"}
        while True:
            query = {"_id": {**low, "$lt": f"{share_id}}}"}}
            docs = await self.audience.find(query, {"users": 1}).sort("_id", ASCENDING).limit(page).to_list()
            for d in docs:
                yield d
            if len(docs) < page:
                return
            low = {"$gt": docs[-1]["_id"]}

    async def completed_among(self, share_id: str, users: Sequence[str], confirm_revision: int) -> set[str]:
        """Those of ``users`` who completed the share for the current confirm cycle."""
        ids = [f"{share_id}|{u}" for u in users]
        query: Doc = {"_id": {"$in": ids}, "last_completed_revision": {"$gte": confirm_revision}}
        return {d["user_id"] async for d in self.progress.find(query, {"user_id": 1})}

    async def completed_before(self, share_id: str, after: str | None, low: int, high: int, limit: int) -> list[Doc]:
        """Progress documents of the share after ``after`` (``_id`` order) whose latest completion was at a
        revision in [low, high]: who completed the cycle a re-confirmation ends."""
        id_range: Doc = {"$gt": after, "$lt": f"{share_id}}}"} if after else _share_range(share_id)
        query: Doc = {"_id": id_range, "last_completed_revision": {"$gte": low, "$lte": high}}
        return await self.progress.find(query, {"user_id": 1}).sort("_id", ASCENDING).limit(limit).to_list()

    async def recipient_count(self, share_id: str) -> int:
        return await self._sum(self.audience, share_id, "$n")

    async def completed_count(self, share_id: str, confirm_revision: int) -> int:
        return await self._sum(self.progress, share_id, 1, {"last_completed_revision": {"$gte": confirm_revision}})

    async def not_completed(self, share: Doc) -> tuple[int, int]:
        """(recipients, recipients who have not completed the share for its current confirm cycle)."""
        recipients = await self.recipient_count(share["_id"])
        completed = await self.completed_count(share["_id"], confirm_cycle(share))
        return recipients, max(0, recipients - completed)

    async def _sum(self, coll: Any, share_id: str, value: Any, match: Doc | None = None) -> int:
        pipeline: list[Doc] = [
            {"$match": {"_id": _share_range(share_id), **(match or {})}},
            {"$group": {"_id": None, "n": {"$sum": value}}},
        ]
        rows = await (await coll.aggregate(pipeline)).to_list()
        return int(rows[0]["n"]) if rows else 0

    # --- the author's "remind now" ---------------------------------------------------------------
    async def take_manual_slot(
        self, share_id: str, now: datetime, interval_s: float, session: AsyncClientSession
    ) -> Doc | None:
        """Set the share's ``last_manual_reminder_at`` to now if the last one is at least ``interval_s``
        old (or there was none) and the share is not retracted; atomic, so two requests at once cannot
        both pass. Returns the share before the change, or None when refused (read it to see why)."""
        query: Doc = {
            "_id": share_id,
            "status": {"$ne": "retracted"},
            "$or": [
                {"last_manual_reminder_at": None},  # also matches a missing field
                {"last_manual_reminder_at": {"$lte": now - timedelta(seconds=interval_s)}},
            ],
        }
        return await self.shares.find_one_and_update(query, {"$set": {"last_manual_reminder_at": now}}, session=session)

    async def start_manual(self, share_id: str, now: datetime, interval_s: float, round_doc: Doc) -> bool:
        """In one transaction: take the share's manual slot (:meth:`take_manual_slot`) and plan the round.
        False when the slot was refused (nothing is written)."""

        async def work(session: AsyncClientSession) -> bool:
            if await self.take_manual_slot(share_id, now, interval_s, session) is None:
                return False
            await self.rounds.insert_one(round_doc, session=session)
            return True

        return await in_transaction(self._client, work)
