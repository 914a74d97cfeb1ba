"""Users, teams and topic subscriptions in the share service's database.

A user's subscriptions live on the user document (``topics``) and, for fan-out, in
:class:`.subscribers.SubscriberPages`; every user write changes both in one transaction.

Users and teams carry ``version``, +1 on every ``PUT`` (a subscription change is not a directory change
for the copies other services keep, so it leaves the version alone). The writes return the stored
document with its new version; the caller passes its own session to store the directory event in the
same transaction (see ``usecases/directory.py``). Documents from before versions have none: their first
change makes them version 1, and a republish gives them version 1 first (:meth:`Directory.stamp_versions`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc, find_in, in_transaction, insert_many_new
from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..domain.directory import Team, TeamIn, User, UserIn
from .subscribers import SubscriberPages

log = logging.getLogger(__name__)
T = TypeVar("T")


def to_user(doc: Doc) -> User:
    return User(
        id=doc["_id"],
        name=doc["name"],
        email=doc.get("email"),
        topics=doc.get("topics", []),
        updated_at=doc["updated_at"],
    )


def to_team(doc: Doc) -> Team:
    return Team(
        id=doc["_id"],
        name=doc["name"],
        members=doc.get("members", []),
        teams=doc.get("teams", []),
        managers=doc.get("managers", []),
        updated_at=doc["updated_at"],
    )


def _user_doc(body: UserIn) -> Doc:
    return {
        "name": body.name,
        "email": str(body.email) if body.email else None,
        "topics": list(dict.fromkeys(body.topics)),
        "updated_at": utcnow(),
    }


PAGES_BUILT = "subscriber_pages.v1"


class Directory:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._client = db.client
        self.users = db["users"]
        self.teams = db["teams"]
        self.subscribers = SubscriberPages(db)
        self._meta = db["meta"]

    async def ensure_indexes(self) -> None:
        await self.teams.create_index([("teams", ASCENDING)])
        await self.subscribers.ensure_indexes()
        await self._build_pages_once()

    async def _build_pages_once(self) -> None:
        """Subscriber pages for a database from before they existed (one process builds them, once)."""
        if await self._meta.find_one({"_id": PAGES_BUILT}):
            return
        try:
            await self._meta.insert_one({"_id": PAGES_BUILT, "state": "building", "at": utcnow()})
        except DuplicateKeyError:
            return  # another process is building them
        pages = await self.subscribers.rebuild(self.users)
        await self._meta.update_one({"_id": PAGES_BUILT}, {"$set": {"state": "built", "pages": pages}})
        log.info("subscriber pages built", extra={"pages": pages})

    async def _resubscribe(self, user_id: str, old: Iterable[str], new: Iterable[str], s: AsyncClientSession) -> None:
        before, after = set(old), set(new)
        for key in sorted(after - before):
            await self.subscribers.add(key, [user_id], s)
        for key in sorted(before - after):
            await self.subscribers.remove(key, [user_id], s)

    async def _in(self, session: AsyncClientSession | None, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """``work`` in the caller's transaction, or in one of its own."""
        if session is not None:
            return await work(session)
        return await in_transaction(self._client, work)

    async def put_user(self, user_id: str, body: UserIn, session: AsyncClientSession | None = None) -> Doc:
        """Create or replace a user; returns the stored document with its new ``version``."""
        doc = _user_doc(body)

        async def work(s: AsyncClientSession) -> Doc:
            before = await self.users.find_one_and_update(
                {"_id": user_id},
                {"$set": doc, "$inc": {"version": 1}},
                {"topics": 1, "version": 1},
                upsert=True,
                session=s,
            )
            await self._resubscribe(user_id, before.get("topics", []) if before else [], doc["topics"], s)
            return {"_id": user_id, **doc, "version": int((before or {}).get("version", 0)) + 1}

        return await self._in(session, work)

    async def put_users(
        self, users: Sequence[tuple[str, UserIn]], session: AsyncClientSession | None = None
    ) -> tuple[int, list[Doc]]:
        """Create or replace many users in one transaction (a directory sync): how many were new, and the
        stored documents with their new ``version`` (in the order given)."""
        docs = {user_id: _user_doc(body) for user_id, body in users}

        async def work(s: AsyncClientSession) -> tuple[int, list[Doc]]:
            ids = list(docs)
            existing: dict[str, list[str]] = {}
            versions: dict[str, int] = {}
            async for d in self.users.find({"_id": {"$in": ids}}, {"topics": 1, "version": 1}, session=s):
                existing[d["_id"]] = d.get("topics", [])
                versions[d["_id"]] = int(d.get("version", 0)) + 1
            # In a transaction the versions read above cannot change under us: a concurrent write of one
            # of these users is a write conflict, and the whole sync is run again.
            created = await insert_many_new(
                self.users, [{"_id": u, **d, "version": 1} for u, d in docs.items() if u not in existing], session=s
            )
            updates = [UpdateOne({"_id": u}, {"$set": docs[u], "$inc": {"version": 1}}) for u in existing]
            if updates:
                await self.users.bulk_write(updates, ordered=False, session=s)
            added: dict[str, list[str]] = {}
            removed: dict[str, list[str]] = {}
            for u, d in docs.items():
                before, after = set(existing.get(u, [])), set(d["topics"])
                for key in after - before:
                    added.setdefault(key, []).append(u)
                for key in before - after:
                    removed.setdefault(key, []).append(u)
            for key, members in sorted(added.items()):
                await self.subscribers.add(key, members, s)
            for key, members in sorted(removed.items()):
                await self.subscribers.remove(key, members, s)
            return created, [{"_id": u, **d, "version": versions.get(u, 1)} for u, d in docs.items()]

        return await self._in(session, work)

    async def get_user(self, user_id: str) -> User | None:
        doc = await self.users.find_one({"_id": user_id})
        return to_user(doc) if doc else None

    async def subscribe(self, user_id: str, topic: str) -> User | None:
        return await self._change_subscription(user_id, topic, subscribed=True)

    async def unsubscribe(self, user_id: str, topic: str) -> User | None:
        return await self._change_subscription(user_id, topic, subscribed=False)

    async def _change_subscription(self, user_id: str, topic: str, subscribed: bool) -> User | None:
        change = {"$addToSet": {"topics": topic}} if subscribed else {"$pull": {"topics": topic}}

        async def work(s: AsyncClientSession) -> Doc | None:
            doc = await self.users.find_one_and_update(
                {"_id": user_id},
                {**change, "$set": {"updated_at": utcnow()}},
                return_document=ReturnDocument.AFTER,
                session=s,
            )
            if doc is not None:
                if subscribed:
                    await self.subscribers.add(topic, [user_id], s)
                else:
                    await self.subscribers.remove(topic, [user_id], s)
            return doc

        doc = await in_transaction(self._client, work)
        return to_user(doc) if doc else None

    async def put_team(self, team_id: str, body: TeamIn, session: AsyncClientSession | None = None) -> Doc:
        """Create or replace a team; returns the stored document with its new ``version``."""
        doc = {
            "name": body.name,
            "members": list(dict.fromkeys(body.members)),
            "teams": list(dict.fromkeys(body.teams)),
            "managers": list(dict.fromkeys(body.managers)),
            "updated_at": utcnow(),
        }
        after = await self.teams.find_one_and_update(
            {"_id": team_id},
            {"$set": doc, "$inc": {"version": 1}},
            {"version": 1},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return {"_id": team_id, **doc, "version": int((after or {}).get("version", 1))}

    async def get_team(self, team_id: str) -> Team | None:
        doc = await self.teams.find_one({"_id": team_id})
        return to_team(doc) if doc else None

    async def team_graph(self) -> dict[str, list[str]]:
        """Team → sub-teams, for teams that have sub-teams (small: teams, not people)."""
        graph: dict[str, list[str]] = {}
        async for doc in self.teams.find({"teams.0": {"$exists": True}}, {"teams": 1}):
            graph[doc["_id"]] = doc["teams"]
        return graph

    async def existing_ids(self, kind: str, ids: Iterable[str]) -> set[str]:
        coll = self.users if kind == "users" else self.teams
        return {doc["_id"] async for doc in find_in(coll, "_id", ids, projection={"_id": 1})}

    async def expand_teams(self, team_ids: Iterable[str]) -> list[str]:
        """The named teams and every team nested below them (each once, cycles cut)."""
        seen: set[str] = set()
        frontier = [t for t in team_ids]
        while frontier:
            batch = [t for t in frontier if t not in seen]
            seen.update(batch)
            frontier = []
            async for doc in self.teams.find({"_id": {"$in": batch}}, {"teams": 1}):
                frontier.extend(t for t in doc.get("teams", []) if t not in seen)
        return sorted(seen)

    async def team_members(self, team_ids: list[str], batch_size: int) -> AsyncIterator[list[str]]:
        """Members of the given teams, in batches (one team's members are one document)."""
        batch: list[str] = []
        async for doc in self.teams.find({"_id": {"$in": team_ids}}, {"members": 1}):
            for member in doc.get("members", []):
                batch.append(member)
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch
