"""Users' notification preferences."""

from __future__ import annotations

from collections.abc import Iterable

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc, find_in
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.preferences import Preferences
from .owners import OwnerSet


class PreferenceStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db["preferences"]
        self.owners = OwnerSet(db, "preferences", self.coll, "_id")

    async def get(self, user_id: str) -> Preferences:
        doc = await self.coll.find_one({"_id": user_id})
        return Preferences.model_validate(doc["prefs"]) if doc else Preferences()

    async def put(self, user_id: str, prefs: Preferences) -> Preferences:
        result = await self.coll.update_one(
            {"_id": user_id},
            {"$set": {"prefs": prefs.model_dump(mode="json", by_alias=True), "updated_at": utcnow()}},
            upsert=True,
        )
        if result.upserted_id is not None:
            await self.owners.changed()
        return prefs

    async def for_users(self, user_ids: Iterable[str]) -> dict[str, Preferences]:
        """Preferences of those users who have any (one query per batch); others use the defaults."""
        ids = list(set(user_ids))
        owners = await self.owners.among(ids)
        if owners is not None:
            ids = sorted(owners)
        out: dict[str, Preferences] = {}
        async for doc in find_in(self.coll, "_id", ids):
            out[doc["_id"]] = Preferences.model_validate(doc["prefs"])
        return out
