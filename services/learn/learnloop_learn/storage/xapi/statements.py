"""The LRS's statements (collection ``xapi_statements``; document shape in ``domain.xapi.statements``).

One index: ``(keys, stored, _id)``. Every read is an equality (or ``$in``) on ``keys`` - ``*`` for an
unfiltered read, else the most selective filter - in ``(stored, _id)`` order; the other filters are
conditions on the plain document fields, checked on the documents that range holds. On the local database
each index entry costs about as much as a small document, and its planner uses an index only for a flat
filter (no ``$and``), so there is one index, and filters stay flat.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from learnloop_shared.mongo import Doc, duplicates_only
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from ...domain.xapi.query import StatementQuery
from ...domain.xapi.statements import AGENT, ALL, AUTHORITY, REF, VOIDED, VOIDS

# Newest-first reads look back this far first, then further (``StatementStore._page``).
WINDOWS = (timedelta(minutes=1), timedelta(minutes=15), timedelta(hours=4), timedelta(days=3), timedelta(days=45))
# What a filtered read needs of a document (the statement, its order key, its attachments).
_READ = {"statement": 1, "stored": 1, "attachments": 1}


def _keys(keys: list[str]) -> Any:
    return keys[0] if len(keys) == 1 else {"$in": keys}


def filter_of(q: StatementQuery, authority_key: str | None = None, *, ref: bool = False) -> dict[str, Any]:
    """The Mongo filter of a filtered read (flat, module docstring): every condition met by the statement
    itself, or (``ref``) by the statement it targets (its ``@`` keys and ``ref`` fields); ``stored`` in
    (since, until]; after the cursor in read order; only what ``authority_key`` wrote when given
    (``statements/read/mine``). Voided statements have no keys, so no filter meets them."""
    conditions = q.conditions()
    f: dict[str, Any] = {}
    if conditions:
        first, rest = conditions[0], conditions[1:]
        f["keys"] = _keys([REF + k for k in first.keys] if ref else first.keys)
        for c in rest:
            f[f"ref.{c.field}" if ref else c.field] = c.value
    elif authority_key is not None:
        f["keys"] = AUTHORITY + authority_key
    else:
        f["keys"] = ALL
    if authority_key is not None:
        f["authority_key"] = authority_key
    stored: dict[str, datetime] = {}
    if q.since is not None:
        stored["$gt"] = q.since
    if q.until is not None:
        stored["$lte"] = q.until
    if stored:
        f["stored"] = stored
    if q.after is not None:
        at, sid = q.after
        op = "$gt" if q.ascending else "$lt"
        f["$or"] = [{"stored": {op: at}}, {"stored": at, "_id": {op: sid}}]
    return f


class StatementStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.statements = db["xapi_statements"]

    async def ensure_indexes(self) -> None:
        """The one index of the module docstring."""
        await self.statements.create_index([("keys", ASCENDING), ("stored", DESCENDING), ("_id", DESCENDING)])

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
        """Mark ``ids`` voided and empty their keys (no filter meets them any more); a voiding statement is
        never voided (voiding it has no effect, Data 2.3.2)."""
        if ids:
            await self.statements.update_many(
                {"_id": {"$in": list(ids)}, "verb": {"$ne": VOIDED}}, {"$set": {"voided": True, "keys": []}}
            )

    async def find(self, q: StatementQuery, authority_key: str | None = None) -> list[Doc]:
        """One page of a filtered read in read order (``stored``, then ``_id``), one more than ``q.limit``
        so the caller knows whether there is a next page. With filters, the statements that match by their
        own keys and those that match through their target are read apart (each an index range) and merged."""
        refs = (False, True) if q.conditions() else (False,)
        pages = [await self._page(q, filter_of(q, authority_key, ref=r)) for r in refs]
        if len(pages) == 1:
            return pages[0]
        merged: list[Doc] = []
        seen: set[str] = set()
        for d in heapq.merge(*pages, key=lambda d: (d["stored"], d["_id"]), reverse=not q.ascending):
            if d["_id"] not in seen:
                seen.add(d["_id"])
                merged.append(d)
        return merged[: q.limit + 1]

    async def _page(self, q: StatementQuery, f: dict[str, Any]) -> list[Doc]:
        """The first ``q.limit + 1`` documents ``f`` matches, in read order. Newest first, it looks in
        growing windows of ``stored`` (:data:`WINDOWS`) back from the cursor, ``until`` or now: once a
        window holds enough, they are the newest of all (everything outside it is older). The local
        database sorts in memory whatever the filter matches, so a narrow range is what keeps a read of the
        newest statements from sorting them all; on MongoDB each try is one index range."""
        order = ASCENDING if q.ascending else DESCENDING
        n = q.limit + 1

        async def run(flt: dict[str, Any]) -> list[Doc]:
            cursor = self.statements.find(flt, _READ).sort([("stored", order), ("_id", order)])
            return await cursor.limit(n).to_list(None)

        if q.ascending:
            return await run(f)
        top = q.after[0] if q.after is not None else q.until or datetime.now(UTC)
        for window in WINDOWS:
            if top - datetime.min.replace(tzinfo=UTC) <= window:  # an until near year 1: no window below it
                break
            lower = top - window
            if q.since is not None and q.since >= lower:
                break
            docs = await run({**f, "stored": {**f.get("stored", {}), "$gt": lower}})
            if len(docs) >= n:
                return docs
        return await run(f)

    async def agents_seen(self, key: str, limit: int) -> list[dict[str, Any]]:
        """The actor and object of the latest ``limit`` statements the agent ``key`` is actor or object of."""
        cursor = self.statements.find({"keys": AGENT + key}, {"statement.actor": 1, "statement.object": 1})
        out: list[dict[str, Any]] = []
        async for d in cursor.sort("stored", DESCENDING).limit(limit):
            for part in ("actor", "object"):
                value = d["statement"].get(part)
                if isinstance(value, dict):
                    out.append(value)
        return out
