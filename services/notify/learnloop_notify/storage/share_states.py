"""notify's own view of each share's current state: title and url after a revision, and retraction.

Filled from ``learnloop.shares`` (``ShareRevised``, ``ShareRetracted``). A share that was never revised
nor retracted has no document here: notifications keep the title and url they were created with.
Reads are cached per process for :data:`CACHE_S`, so a page, an unread count or a live stream asks the
database about a share at most about once a second; a revision or retraction shows within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from learnloop_shared.events import ShareRetracted, ShareRevised
from learnloop_shared.mongo import Doc, find_in
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

CACHE_S = 1.0
MAX_CACHED = 20_000  # entries; beyond it the cache starts over (memory stays bounded)
_FIELDS = {"title": 1, "url": 1, "revision": 1, "retracted_at": 1}


class ShareStates:
    def __init__(
        self, db: AsyncDatabase[Doc], cache_s: float = CACHE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.coll = db["shares"]
        self._cache_s = cache_s
        self._clock = clock
        self._cache: dict[str, tuple[float, Doc | None]] = {}

    async def revised(self, e: ShareRevised) -> None:
        """Keep the newest revision: an older or repeated one (replay, reordering) changes nothing."""
        newer: Doc = {"$or": [{"revision": {"$lt": e.revision}}, {"revision": {"$exists": False}}]}
        update = {"$set": {"title": e.title, "url": e.url, "revision": e.revision, "revised_at": e.revised_at}}
        try:
            await self.coll.update_one({"_id": e.share_id, **newer}, update, upsert=True)
        except DuplicateKeyError:
            pass  # the stored revision is this one or newer
        self._cache.pop(e.share_id, None)

    async def retracted(self, e: ShareRetracted) -> None:
        """The first retraction time stays (a replay changes nothing)."""
        try:
            await self.coll.update_one(
                {"_id": e.share_id, "retracted_at": None}, {"$set": {"retracted_at": e.retracted_at}}, upsert=True
            )
        except DuplicateKeyError:
            pass  # already retracted
        self._cache.pop(e.share_id, None)

    async def current(self, share_ids: Iterable[str]) -> dict[str, Doc]:
        """The state of those shares that have one (cached briefly; see the module docstring)."""
        now = self._clock()
        out: dict[str, Doc] = {}
        missing: list[str] = []
        for sid in dict.fromkeys(share_ids):
            hit = self._cache.get(sid)
            if hit is not None and hit[0] > now:
                if hit[1] is not None:
                    out[sid] = hit[1]
            else:
                missing.append(sid)
        if not missing:
            return out
        found = {d["_id"]: d async for d in find_in(self.coll, "_id", missing, projection=_FIELDS)}
        if len(self._cache) + len(missing) > MAX_CACHED:
            self._cache.clear()
        expires = now + self._cache_s
        for sid in missing:
            state = found.get(sid)
            self._cache[sid] = (expires, state)
            if state is not None:
                out[sid] = state
        return out
