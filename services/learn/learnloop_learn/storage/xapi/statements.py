"""The LRS's statements (collection ``xapi_statements``; document shape in ``domain.xapi.statements``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.mongo import Doc, duplicates_only
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from ...domain.xapi.query import StatementQuery
from ...domain.xapi.statements import FILTER_FIELDS, VOIDED

# What a filtered read needs of a document (the statement, its order key, its attachments).
_READ = {"statement": 1, "stored": 1, "attachments": 1}


def _conditions(q: StatementQuery) -> dict[str, Any]:
    """The filter conditions on one set of filter fields (a document's own, or one entry of its ``refs``)."""
    cond: dict[str, Any] = {}
    if q.agent_key is not None:
        cond["related_agents" if q.related_agents else "agents"] = q.agent_key
    if q.verb is not None:
        cond["verb"] = q.verb
    if q.activity is not None:
        cond["related_activities" if q.related_activities else "activity"] = q.activity
    if q.registration is not None:
        cond["registration"] = q.registration
    return cond


def filter_of(q: StatementQuery, authority_key: str | None = None) -> dict[str, Any]:
    """The Mongo filter of a filtered read: never voided statements; a statement matches when it meets
    the conditions itself or through a statement it targets (``refs``); ``stored`` in (since, until];
    after the cursor in read order; only what ``authority_key`` wrote when given (``statements/read/mine``)."""
    and_: list[dict[str, Any]] = [{"voided": False}]
    cond = _conditions(q)
    if cond:
        and_.append({"$or": [cond, {"refs": {"$elemMatch": cond}}]})
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
        and_.append({"authority_key": authority_key})
    return {"$and": and_}


class StatementStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.statements = db["xapi_statements"]

    async def ensure_indexes(self) -> None:
        """One index per filter, each ending in ``stored`` so a filtered page is read in order; the same for
        the filter fields of targeted statements (``refs.*``, sparse: most statements target none)."""
        s = self.statements
        await s.create_index([("stored", DESCENDING), ("_id", DESCENDING)])
        for field in FILTER_FIELDS:
            await s.create_index([(field, ASCENDING), ("stored", DESCENDING)], sparse=field == "registration")
            await s.create_index([(f"refs.{field}", ASCENDING), ("stored", DESCENDING)], sparse=True)
        await s.create_index([("voids", ASCENDING)], sparse=True)
        await s.create_index([("authority_key", ASCENDING), ("stored", DESCENDING)])

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
        docs = await self.statements.find({"voids": {"$in": list(ids)}}, {"voids": 1}).to_list(None)
        return [str(d["voids"]) for d in docs]

    async def mark_voided(self, ids: Sequence[str]) -> None:
        """Mark ``ids`` voided; a voiding statement is never voided (voiding it has no effect, Data 2.3.2)."""
        if ids:
            await self.statements.update_many(
                {"_id": {"$in": list(ids)}, "verb": {"$ne": VOIDED}}, {"$set": {"voided": True}}
            )

    async def find(self, q: StatementQuery, authority_key: str | None = None) -> list[Doc]:
        """One page of a filtered read in read order (``stored``, then ``_id``), one more than ``q.limit``
        so the caller knows whether there is a next page."""
        order = ASCENDING if q.ascending else DESCENDING
        cursor = self.statements.find(filter_of(q, authority_key), _READ).sort([("stored", order), ("_id", order)])
        return await cursor.limit(q.limit + 1).to_list(None)
