"""Which users own documents in a small collection (preferences, webhooks), cached per process.

Storing a batch of notifications needs its recipients' preferences and webhooks, and almost no
recipient has any. Asking the database "which of these 500 users have some?" for every batch took
about a quarter of the local database's time in the fan-out benchmark. Instead each process keeps
the set of owners and checks one version counter per batch; writers bump the counter whenever they
may have added or removed an owner. The set is also reloaded every ``max_age_s``, so a bump lost to
a crash between a write and its bump is corrected within that time. With more than ``max_owners``
owners no set is kept (memory stays bounded) and callers query per batch as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from learnloop_shared.mongo import Doc
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase


class OwnerSet:
    def __init__(
        self,
        db: AsyncDatabase[Doc],
        name: str,
        coll: AsyncCollection[Doc],
        field: str,
        max_owners: int = 100_000,
        max_age_s: float = 30.0,
    ) -> None:
        self._versions = db["owner_versions"]
        self._name = name
        self._coll = coll
        self._field = field
        self._max_owners = max_owners
        self._max_age_s = max_age_s
        self._owners: set[str] | None = None
        self._version: int | None = None  # None: never loaded
        self._loaded_at = 0.0

    async def changed(self) -> None:
        """Tell every process that owners may have been added or removed (call after the write)."""
        await self._versions.update_one({"_id": self._name}, {"$inc": {"v": 1}}, upsert=True)

    async def among(self, user_ids: Iterable[str]) -> set[str] | None:
        """Those of ``user_ids`` who own a document, or None when there are too many owners to cache."""
        doc = await self._versions.find_one({"_id": self._name})
        version = int(doc["v"]) if doc else 0
        if version != self._version or time.monotonic() - self._loaded_at > self._max_age_s:
            await self._load(version)
        if self._owners is None:
            return None
        return {u for u in user_ids if u in self._owners}

    async def _load(self, version: int) -> None:
        owners: set[str] | None = set()
        async for d in self._coll.find({}, {self._field: 1}).limit(self._max_owners + 1):
            assert owners is not None
            owners.add(d[self._field])
            if len(owners) > self._max_owners:
                owners = None
                break
        self._owners, self._version, self._loaded_at = owners, version, time.monotonic()
