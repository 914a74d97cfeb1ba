"""The learn service's store: shares it knows of, who received them, acknowledgements and progress.

``progress`` documents (``_id`` = ``<share>|<user>``, only once the user acknowledged)::

    {share_id, user_id, cycle, acknowledged: [kinds of the CURRENT confirm cycle],
     first_at: {kind: when first acknowledged in the current cycle}, rating (latest),
     completed_revisions: [revisions at which the user completed], last_completed_revision, completed_at}

``cycle`` is the confirm cycle ``acknowledged`` belongs to: the first acknowledgement of a later cycle
starts the list again. The rules (what completes, what completed means) are in
:mod:`..domain.follow_through`.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.mongo import Doc, find_in, ids_under, in_id_order, upsert_many
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.audience import Bucket
from ..domain.follow_through import confirm_cycle, is_completed, progress_after
from .recipients import RecipientBuckets
from .round_plan import RoundPlan
from .shares import ShareStates

log = logging.getLogger(__name__)
STORED_SHARES_KEPT = 10_000
SHARE_TTL_S = 1.0  # how long a read share is answered from memory: shares change (revisions, retraction)
QUESTIONS_SHOWN = 50


class LearningStore:
    def __init__(self, db: AsyncDatabase[Doc], clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self._clock = clock
        self.shares = db["shares"]
        self.states = ShareStates(db, self.forget)
        self.rounds = RoundPlan(db)
        self.audience = RecipientBuckets(db)
        self.progress = db["progress"]  # "<share>|<user>": what a recipient acknowledged, once they have
        self.acks = db["acknowledgements"]
        self._stored_shares: OrderedDict[str, None] = OrderedDict()  # the most recent ones
        self._read_shares: OrderedDict[str, tuple[float, Doc]] = OrderedDict()  # (expiry, doc), most recent last

    async def ensure_indexes(self) -> None:
        await self.audience.ensure_indexes()
        await self.rounds.ensure_indexes()
        await self.acks.create_index([("share_id", ASCENDING), ("kind", ASCENDING), ("at", ASCENDING)])

    # --- from events -------------------------------------------------------------------------
    async def upsert_shares(self, shares: Sequence[Doc]) -> None:
        """Store shares not stored yet (from deliveries: ``$setOnInsert`` only, later changes come from share
        events). A share this process has stored is not written again (a large fan-out brings the same
        share in every batch)."""
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

    def forget(self, share_id: str) -> None:
        """Drop this process's cached copy of a share (it was revised or retracted here)."""
        self._read_shares.pop(share_id, None)

    # --- queries -----------------------------------------------------------------------------
    async def share(self, share_id: str) -> Doc | None:
        """The share as stored, read at most :data:`SHARE_TTL_S` ago: acknowledgements come in bursts for
        the same few shares, and a revision or retraction is seen by every process within that time.
        A share not stored yet is looked up again next time. Callers must not change the document."""
        now = self._clock()
        if (known := self._read_shares.get(share_id)) is not None and known[0] > now:
            self._read_shares.move_to_end(share_id)
            return known[1]
        doc = await self.shares.find_one({"_id": share_id})
        if doc is not None:
            self._read_shares[share_id] = (now + SHARE_TTL_S, doc)
            self._read_shares.move_to_end(share_id)
            if len(self._read_shares) > STORED_SHARES_KEPT:
                self._read_shares.popitem(last=False)
        else:
            self._read_shares.pop(share_id, None)
        return doc

    async def is_recipient(self, share: Doc, user_id: str) -> bool:
        return await self.audience.contains(share["_id"], share["published_at"], user_id)

    async def recipient_count(self, share_id: str) -> int:
        return await self.audience.count(share_id)

    async def counts(self, share_id: str, cycle: int = 1) -> tuple[dict[str, int], int]:
        """Acknowledgements per kind (questions aside) of one confirm cycle, and the sum of its ratings."""
        counts, ratings = await self.counts_and_ratings(share_id, cycle)
        return counts, sum(value * n for value, n in ratings.items())

    async def counts_and_ratings(self, share_id: str, cycle: int = 1) -> tuple[dict[str, int], dict[int, int]]:
        """Acknowledgements per kind (questions aside) of one confirm cycle, and how many of its ratings
        gave each value (one aggregation: the ratings are grouped by value with the kinds)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"share_id": share_id, "kind": {"$ne": "question"}, "cycle": _cycle_match(cycle)}},
            {"$group": {"_id": {"kind": "$kind", "rating": "$rating"}, "n": {"$sum": 1}}},
        ]
        counts: dict[str, int] = {}
        ratings: dict[int, int] = {}
        cursor = await self.acks.aggregate(pipeline)
        async for row in cursor:
            kind, n = row["_id"]["kind"], int(row["n"])
            counts[kind] = counts.get(kind, 0) + n
            if kind == "rated" and row["_id"].get("rating") is not None:
                value = int(row["_id"]["rating"])
                ratings[value] = ratings.get(value, 0) + n
        return counts, ratings

    async def questions(self, share_id: str, limit: int = QUESTIONS_SHOWN) -> tuple[list[Doc], int]:
        """The newest ``limit`` questions, oldest first, and how many there are in all."""
        query = {"share_id": share_id, "kind": "question"}
        newest = await self.acks.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()
        total = len(newest) if len(newest) < limit else await self.acks.count_documents(query)
        return newest[::-1], total

    async def completed_count(self, share_id: str, confirm_revision: int) -> int:
        """Recipients who completed the share's current confirm cycle."""
        query = {**_progress_of(share_id), "last_completed_revision": {"$gte": confirm_revision}}
        return await self.progress.count_documents(query)

    async def completion_lists(self, share_id: str) -> list[tuple[list[int], int]]:
        """(completed revisions, number of recipients with exactly that list), for every distinct list."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {**_progress_of(share_id), "completed_revisions.0": {"$exists": True}}},
            {"$group": {"_id": "$completed_revisions", "n": {"$sum": 1}}},
        ]
        rows = await (await self.progress.aggregate(pipeline)).to_list()
        return [([int(x) for x in r["_id"]], int(r["n"])) for r in rows]

    async def progress_of(self, share_id: str, users: Sequence[str]) -> dict[str, Doc]:
        if not users:
            return {}
        ids = [f"{share_id}|{u}" for u in users]
        return {d["user_id"]: d async for d in self.progress.find({"_id": {"$in": ids}})}

    async def sorted_progress(self, share_id: str, first_user: str) -> AsyncIterator[Doc]:
        """The share's progress documents of users ≥ ``first_user``, in ``_id`` order, which is user id
        order: every id is ``<share_id>|<user_id>``."""
        query = {"_id": {"$gte": f"{share_id}|{first_user}", "$lt": f"{share_id}}}"}}
        async for doc in in_id_order(self.progress.find(query)):
            yield doc

    async def progress_by_id(self, ids: Sequence[str]) -> dict[str, Doc]:
        """Progress documents by ``_id`` (``<share>|<user>``), a chunk of ids per query (``find_in``)."""
        return {d["_id"]: d async for d in find_in(self.progress, "_id", ids)}

    async def pending_for(self, user_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Doc]:
        """Up to ``limit`` shares delivered to the user, not retracted and not completed (current confirm
        cycle) yet, newest first.

        Each item: ``_id`` (the share id), ``share_id``, ``title``, ``author_id``, ``url``, ``requires``,
        ``due_at``, ``delivered_at`` and ``acknowledged``. Completed shares are skipped as the list is read.
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
                if s is None or s.get("status") == "retracted":
                    continue
                if is_completed(p.get("last_completed_revision"), confirm_cycle(s)):
                    continue
                same_cycle = p.get("cycle", 1) == confirm_cycle(s)
                items.append(
                    {
                        "_id": r["share_id"],
                        "share_id": r["share_id"],
                        "title": s["title"],
                        "author_id": s["author_id"],
                        "url": s.get("url"),
                        "requires": s.get("requires", "learned"),
                        "due_at": s.get("due_at"),
                        "delivered_at": r["delivered_at"],
                        "acknowledged": p.get("acknowledged", []) if same_cycle else [],
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

    async def mark_progress(
        self,
        share: Doc,
        user_id: str,
        kind: str,
        at: datetime,
        session: AsyncClientSession | None,
        rating: int | None = None,
    ) -> bool:
        """Record ``kind`` in the recipient's progress for the share's current confirm cycle; True when this
        acknowledgement completed the share for them (the rule: ``domain.follow_through.progress_after``).

        Inside the caller's transaction: the first acknowledgement inserts the document in one write
        (an upsert with ``$setOnInsert``); a later one reads it and sets the fields the rule computed from it.
        A concurrent acknowledgement of the same recipient makes one of the two transactions conflict and
        retry. (Update pipelines and ``findAndModify`` would save a round trip, but on the local database
        either on an existing document costs several times a plain read and write.)
        """
        progress_id = f"{share['_id']}|{user_id}"
        rule = (share.get("requires", "learned"), confirm_cycle(share), int(share.get("revision", 1)))
        first, completed = progress_after(None, *rule, kind, at, rating)
        ids = {"share_id": share["_id"], "user_id": user_id}
        inserted = await self.progress.update_one(
            {"_id": progress_id}, {"$setOnInsert": {**ids, **first}}, upsert=True, session=session
        )
        if inserted.upserted_id is not None:
            return completed
        before = await self.progress.find_one({"_id": progress_id}, session=session)
        fields, completed = progress_after(before, *rule, kind, at, rating)
        await self.progress.update_one({"_id": progress_id}, {"$set": fields}, session=session)
        return completed


def _progress_of(share_id: str) -> Doc:
    return {"_id": ids_under(share_id)}


def _cycle_match(cycle: int) -> Any:
    # Acknowledgements stored before confirm cycles existed have no ``cycle``: they belong to the first.
    return {"$in": [None, 1]} if cycle <= 1 else cycle
