"""The LRS's statements (collection ``xapi_statements``; document shape in ``domain.xapi.statements``).

Two indexes: ``(stored, _id)`` for unfiltered reads and ``(keys, stored, _id)`` for every filter. On the local
database each index entry costs about as much as a small document, so the filter fields share one multikey
index (``keys``) instead of one index each.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.mongo import Doc, duplicates_only
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from ...domain.xapi.query import StatementQuery
from ...domain.xapi.statements import AUTHORITY, REF, VOIDED, VOIDS

# What a filtered read needs of a document (the statement, its order key, its attachments).
_READ = {"statement": 1, "stored": 1, "attachments": 1}


def filter_of(q: StatementQuery, authority_key: str | None = None, *, prefix: str = "") -> dict[str, Any]:
    """The Mongo filter of a filtered read: never voided statements; every condition met by the statement's
    own keys (``prefix`` "") or by those of the statement it targets (``prefix`` ``REF``); ``stored`` in
    (since, until]; after the cursor in read order; only what ``authority_key`` wrote when given
    (``statements/read/mine``)."""
    and_: list[dict[str, Any]] = [{"voided": False}]
    for alternatives in q.conditions():
        keys = [prefix + k for k in alternatives]
        and_.append({"keys": keys[0] if len(keys) == 1 else {"$in": keys}})
    stored: dict[str, datetime] = {}
    if q.since is not None:
        stored["$gt"] = q.since
    if q.until is not None:
        stored["$lte"] = q.until
    if stored:
        and_.append({"stored": stored})
    if q.after is not None:
        at, sid = q.after
        op = "$gt" if q.ascending else "$lt"
        and_.append({"$or": [{"stored": {op: at}}, {"stored": at, "_id": {op: sid}}]})
    if authority_key is not None:
        and_.append({"keys": AUTHORITY + authority_key})
    return {"$and": and_}


class StatementStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.statements = db["xapi_statements"]

    async def ensure_indexes(self) -> None:
        """The two indexes of the module docstring."""
        s = self.statements
        await s.create_index([("stored", DESCENDING), ("_id", DESCENDING)])
        await s.create_index([("keys", ASCENDING), ("stored", DESCENDING), ("_id", DESCENDING)])

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

    async def remove_inserted(self, ids: Sequence[str], stored: datetime) -> None:
        """Take back what one intake inserted (its ids, its ``stored``) when its batch is refused."""
        if ids:
            await self.statements.delete_many({"_id": {"$in": list(ids)}, "stored": stored})

    async def get(self, statement_id: str) -> Doc | None:
        return await self.statements.find_one({"_id": statement_id})

    async def get_many(self, ids: Sequence[str], projection: dict[str, int] | None = None) -> list[Doc]:
        return await self.statements.find({"_id": {"$in": list(ids)}}, projection).to_list(None)

    async def voided_targets(self, ids: Sequence[str]) -> list[str]:
        """Of ``ids``, those a stored voiding statement targets (a target that arrived after its voider)."""
        if not ids:
            return []
        docs = await self.statements.find({"keys": {"$in": [VOIDS + i for i in ids]}}, {"voids": 1}).to_list(None)
        return [str(d["voids"]) for d in docs]

    async def mark_voided(self, ids: Sequence[str]) -> None:
        """Mark ``ids`` voided; a voiding statement is never voided (voiding it has no effect, Data 2.3.2)."""
        if ids:
            await self.statements.update_many(
                {"_id": {"$in": list(ids)}, "verb": {"$ne": VOIDED}}, {"$set": {"voided": True}}
            )

    async def find(self, q: StatementQuery, authority_key: str | None = None) -> list[Doc]:
        """One page of a filtered read in read order (``stored``, then ``_id``), one more than ``q.limit``
        so the caller knows whether there is a next page. With filters, the statements that match by their
        own keys and those that match through their target are read apart (each an index range) and merged."""
        order = ASCENDING if q.ascending else DESCENDING
        sort = [("stored", order), ("_id", order)]
        prefixes = ("", REF) if q.conditions() else ("",)
        pages = [
            await self.statements.find(filter_of(q, authority_key, prefix=p), _READ)
            .sort(sort)
            .limit(q.limit + 1)
            .to_list(None)
            for p in prefixes
        ]
        if len(pages) == 1:
            return pages[0]
        merged: list[Doc] = []
        seen: set[str] = set()
        for d in heapq.merge(*pages, key=lambda d: (d["stored"], d["_id"]), reverse=not q.ascending):
            if d["_id"] not in seen:
                seen.add(d["_id"])
                merged.append(d)
        return merged[: q.limit + 1]
