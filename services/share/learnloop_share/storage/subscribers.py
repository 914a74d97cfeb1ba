"""Topic subscribers as pages of sorted user ids: a derived index of the users' ``topics``.

Fan-out to a topic reads its subscribers a page (up to ``PAGE_MAX`` ids) at a time instead of one
user document per recipient: reading a few documents of many ids each is far cheaper than an index
scan over one user document per subscriber (figures: the README's benchmark section).

A topic's pages split the id space: the page with bound ``lo`` holds the subscribers in
``[lo, next page's lo)``; the first page has ``lo=""``. Pages are changed only together with the user
documents they derive from, in one transaction (see :class:`..storage.directory.Directory`), and
can be rebuilt from the users at any time (:meth:`SubscriberPages.rebuild`).

A subscription key is what a user subscribed to: a topic, or a wildcard such as ``kafka.*``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import AsyncIterator, Iterable
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

PAGE_MAX = 2000  # a page that would grow beyond this is split
PAGE_SPLIT = 1000  # into pages of this many ids
PAGES_PER_FETCH = 4

Session = AsyncClientSession | None


def _page_id(key: str, lo: str) -> str:
    return f"{key}|{lo}"


def split_pages(ids: list[str], lo: str) -> list[tuple[str, list[str]]]:
    """(lo, ids) pages for sorted ``ids``; the first keeps the bound ``lo``, the others start at their first id."""
    if len(ids) <= PAGE_MAX:
        return [(lo, ids)]
    pieces = [ids[i : i + PAGE_SPLIT] for i in range(0, len(ids), PAGE_SPLIT)]
    return [(lo if i == 0 else piece[0], piece) for i, piece in enumerate(pieces)]


class SubscriberPages:
    def __init__(self, db: AsyncDatabase[Doc], collection: str = "subscriber_pages") -> None:
        self.coll: AsyncCollection[Doc] = db[collection]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("key", ASCENDING), ("lo", ASCENDING)], unique=True)

    # --- maintenance (inside the caller's transaction) ---------------------------------------------
    async def add(self, key: str, user_ids: Iterable[str], session: Session = None) -> None:
        async for page, chunk in self._by_page(key, user_ids, session):
            if page is None:  # the topic's first subscribers
                await self._write(key, "", [], chunk, session)
            else:
                merged = sorted(set(page["ids"]).union(chunk))
                await self._write(key, page["lo"], page["ids"], merged, session)

    async def remove(self, key: str, user_ids: Iterable[str], session: Session = None) -> None:
        async for page, chunk in self._by_page(key, user_ids, session):
            if page is None:  # the key has no subscribers at all
                break
            gone = set(chunk)
            kept = [u for u in page["ids"] if u not in gone]
            if len(kept) == len(page["ids"]):
                continue
            if kept or page["lo"] == "":
                await self.coll.update_one(
                    {"_id": page["_id"]}, {"$set": {"ids": kept, "n": len(kept), "at": utcnow()}}, session=session
                )
            else:  # an empty page that isn't the first: its range falls to the page before
                await self.coll.delete_one({"_id": page["_id"]}, session=session)

    async def _by_page(
        self, key: str, user_ids: Iterable[str], session: Session
    ) -> AsyncIterator[tuple[Doc | None, list[str]]]:
        """``user_ids`` sorted and grouped by the page whose range holds them (None: the key has no page)."""
        todo = sorted(set(user_ids))
        while todo:
            page, upper = await self._page_for(key, todo[0], session)
            cut = bisect_left(todo, upper) if upper is not None else len(todo)
            chunk, todo = todo[:cut], todo[cut:]
            yield page, chunk

    async def _page_for(self, key: str, user_id: str, session: Session) -> tuple[Doc | None, str | None]:
        """The page whose range holds ``user_id``, and the lower bound of the page after it (None: last)."""
        page = await self.coll.find_one(
            {"key": key, "lo": {"$lte": user_id}}, sort=[("lo", DESCENDING)], session=session
        )
        after = await self.coll.find_one(
            {"key": key, "lo": {"$gt": user_id}}, {"lo": 1}, sort=[("lo", ASCENDING)], session=session
        )
        return page, (after["lo"] if after else None)

    async def _write(self, key: str, lo: str, old: list[str], ids: list[str], session: Session) -> None:
        if ids == old:
            return
        at = utcnow()
        for i, (page_lo, page_ids) in enumerate(split_pages(ids, lo)):
            doc = {"key": key, "lo": page_lo, "ids": page_ids, "n": len(page_ids), "at": at}
            if i == 0:
                await self.coll.update_one({"_id": _page_id(key, page_lo)}, {"$set": doc}, upsert=True, session=session)
            else:
                await self.coll.insert_one({"_id": _page_id(key, page_lo), **doc}, session=session)

    # --- reading --------------------------------------------------------------------------------
    async def keys_under(self, prefix: str) -> list[str]:
        """Subscription keys starting with ``prefix`` (for audiences such as ``kafka.*``)."""
        keys = await self.coll.distinct("key", {"key": {"$regex": "^" + re.escape(prefix)}})
        return sorted(str(k) for k in keys)

    async def subscribers(self, key: str, after: str | None = None) -> AsyncIterator[list[str]]:
        """The key's subscribers in id order, after ``after``, a page at a time."""
        query: dict[str, Any] = {"key": key}
        if after is not None:
            page, _ = await self._page_for(key, after, None)
            query["lo"] = {"$gte": page["lo"] if page else ""}
        # A few pages per round trip: the driver would otherwise fetch up to 16 MB of pages at once,
        # and memory would grow with the audience.
        async for page in self.coll.find(query, {"ids": 1}, batch_size=PAGES_PER_FETCH).sort("lo", ASCENDING):
            ids: list[str] = page["ids"]
            if after is not None and ids and ids[0] <= after:
                ids = ids[bisect_left(ids, after) :]
                if ids and ids[0] == after:
                    ids = ids[1:]
            if ids:
                yield ids

    async def rebuild(self, users: AsyncCollection[Doc]) -> int:
        """Recreate every page from the users' ``topics`` (streamed in id order; memory: one page per key)."""
        await self.coll.delete_many({})
        buffers: dict[str, list[str]] = {}
        bounds: dict[str, str] = {}
        pages = 0

        async def flush(key: str) -> None:
            nonlocal pages
            ids = buffers.pop(key)
            lo = bounds.get(key, "")
            await self.coll.insert_one({"_id": _page_id(key, lo), "key": key, "lo": lo, "ids": ids, "n": len(ids)})
            pages += 1

        query = {"topics.0": {"$exists": True}}
        cursor = users.find(query, {"topics": 1}, batch_size=PAGE_SPLIT).sort("_id", ASCENDING)
        async for user in cursor:
            for key in user.get("topics", []):
                buf = buffers.setdefault(key, [])
                if len(buf) >= PAGE_SPLIT:
                    await flush(key)
                    bounds[key] = user["_id"]
                    buf = buffers.setdefault(key, [])
                buf.append(user["_id"])
        for key in list(buffers):
            await flush(key)
        return pages
