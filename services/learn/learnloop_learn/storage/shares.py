"""Learn's copy of each share, kept current from share events (collection ``shares``, ``_id`` = share id).

Fields: ``author_id, title, url, topics, published_at, requires, due_at, reminders, reminder_offsets_s,
revision, confirm_revision, revisions: [{revision, at, reconfirm}], status ("active"|"retracted"),
retracted_at, built_upon, has_checks`` (built by ``domain.shares.new_share``) and, from ``share.published``,
``checks, pass_mark, max_attempts`` (``domain.checks``; the answer key is read only by learn's checks code).
Readers use ``.get`` with its defaults: shares stored before these fields existed lack them.

Every write is idempotent and replay-safe, because events come again after a restart:

- a share is created by ``$setOnInsert`` from whichever of ``share.published`` and ``share.delivered`` comes
  first; ``share.published`` then sets the follow-through fields while the stored revision is ≤ 1, and
  the knowledge check whatever the revision (a check never changes after publication, so setting it
  again on a replay changes nothing);
- ``share.revised`` applies only to a stored revision ≤ its own that does not list it yet;
- ``share.retracted`` keeps the first ``retracted_at``;
- ``share.built_on`` records each (share, new share) pair once in ``built_on`` and sets ``built_upon`` to the
  number of recorded pairs (a count, not an increment, so a crash between the two writes heals on replay).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.mongo import Doc, ids_under, insert_many_new, upsert_many
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.checks import CHECK_FIELDS
from ..domain.follow_through import offsets_of
from ..domain.shares import FOLLOW_THROUGH


class ShareStates:
    def __init__(self, db: AsyncDatabase[Doc], forget: Callable[[str], None]) -> None:
        self.coll = db["shares"]
        self.pairs = db["built_on"]
        self._forget = forget  # drops this process's cached copy of a share

    async def published(self, shares: Sequence[Doc]) -> None:
        """Store published shares (documents from ``domain.shares.new_share`` with ``domain.checks.check_fields``),
        or set their follow-through fields on a copy stored from a delivery, unless a revision was applied
        meanwhile; the check fields are set in any case."""
        ops: list[UpdateOne] = []
        for s in shares:
            checks = {k: s[k] for k in CHECK_FIELDS if k in s}
            ops.append(
                UpdateOne(
                    {"_id": s["_id"], "$or": [{"revision": {"$lte": 1}}, {"revision": {"$exists": False}}]},
                    {
                        "$set": {**{k: s[k] for k in FOLLOW_THROUGH}, **checks},
                        "$setOnInsert": {
                            k: v for k, v in s.items() if k not in FOLLOW_THROUGH and k not in checks and k != "_id"
                        },
                    },
                    upsert=True,  # a copy at a later revision makes this a duplicate key: ignored
                )
            )
            if checks:  # also on a copy a delivery stored at a later revision (the write above skips it)
                ops.append(UpdateOne({"_id": s["_id"]}, {"$set": checks}))
        await upsert_many(self.coll, ops)
        for s in shares:
            self._forget(s["_id"])

    async def revised(self, share_id: str, revision: int, fields: Doc, revised_at: datetime, reconfirm: bool) -> bool:
        """Apply a revision (``fields``: the share as it is at ``revision``). True if it changed the copy."""
        update: dict[str, Any] = {
            "$set": {**fields, "reminder_offsets_s": offsets_of(fields.get("reminders", ())), "revision": revision},
            "$push": {"revisions": {"revision": revision, "at": revised_at, "reconfirm": reconfirm}},
        }
        if reconfirm:
            update["$max"] = {"confirm_revision": revision}
        result = await self.coll.update_one(
            {"_id": share_id, "revision": {"$lte": revision}, "revisions.revision": {"$ne": revision}}, update
        )
        self._forget(share_id)
        return result.modified_count == 1

    async def retracted(self, share_id: str, at: datetime) -> None:
        await self.coll.update_one(
            {"_id": share_id, "status": {"$ne": "retracted"}}, {"$set": {"status": "retracted", "retracted_at": at}}
        )
        self._forget(share_id)

    async def built_on(self, pairs: Sequence[tuple[str, str, datetime]]) -> None:
        """Record (share, the share built on it, when) pairs and recount ``built_upon`` of those shares."""
        docs = [{"_id": f"{s}|{by}", "share_id": s, "by_share_id": by, "at": at} for s, by, at in pairs]
        await insert_many_new(self.pairs, docs)
        ops = []
        for sid in {s for s, _, _ in pairs}:
            n = await self.pairs.count_documents({"_id": ids_under(sid)})
            ops.append(UpdateOne({"_id": sid}, {"$set": {"built_upon": n}}))
            self._forget(sid)
        await upsert_many(self.coll, ops)

    async def get(self, share_id: str) -> Doc | None:
        return await self.coll.find_one({"_id": share_id})

    async def many(self, ids: Sequence[str]) -> list[Doc]:
        return await self.coll.find({"_id": {"$in": list(ids)}}).to_list()
