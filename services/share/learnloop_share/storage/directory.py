"""Users, teams and topic subscriptions in the share service's database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.directory import Team, TeamIn, User, UserIn
from ..domain.topics import matching_subscriptions, wildcard_prefix
from .audience import batched


def _user(doc: Doc) -> User:
    return User(
        id=doc["_id"],
        name=doc["name"],
        email=doc.get("email"),
        topics=doc.get("topics", []),
        updated_at=doc["updated_at"],
    )


def _team(doc: Doc) -> Team:
    return Team(
        id=doc["_id"],
        name=doc["name"],
        members=doc.get("members", []),
        teams=doc.get("teams", []),
        updated_at=doc["updated_at"],
    )


class Directory:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.users = db["users"]
        self.teams = db["teams"]

    async def ensure_indexes(self) -> None:
        await self.users.create_index([("topics", ASCENDING), ("_id", ASCENDING)])
        await self.teams.create_index([("teams", ASCENDING)])

    async def put_user(self, user_id: str, body: UserIn) -> User:
        doc = {
            "name": body.name,
            "email": str(body.email) if body.email else None,
            "topics": list(dict.fromkeys(body.topics)),
            "updated_at": utcnow(),
        }
        await self.users.update_one({"_id": user_id}, {"$set": doc}, upsert=True)
        return _user({"_id": user_id, **doc})

    async def get_user(self, user_id: str) -> User | None:
        doc = await self.users.find_one({"_id": user_id})
        return _user(doc) if doc else None

    async def subscribe(self, user_id: str, topic: str) -> User | None:
        doc = await self.users.find_one_and_update(
            {"_id": user_id},
            {"$addToSet": {"topics": topic}, "$set": {"updated_at": utcnow()}},
            return_document=True,
        )
        return _user(doc) if doc else None

    async def unsubscribe(self, user_id: str, topic: str) -> User | None:
        doc = await self.users.find_one_and_update(
            {"_id": user_id},
            {"$pull": {"topics": topic}, "$set": {"updated_at": utcnow()}},
            return_document=True,
        )
        return _user(doc) if doc else None

    async def put_team(self, team_id: str, body: TeamIn) -> Team:
        doc = {
            "name": body.name,
            "members": list(dict.fromkeys(body.members)),
            "teams": list(dict.fromkeys(body.teams)),
            "updated_at": utcnow(),
        }
        await self.teams.update_one({"_id": team_id}, {"$set": doc}, upsert=True)
        return _team({"_id": team_id, **doc})

    async def get_team(self, team_id: str) -> Team | None:
        doc = await self.teams.find_one({"_id": team_id})
        return _team(doc) if doc else None

    async def team_graph(self) -> dict[str, list[str]]:
        """Team → sub-teams, for teams that have sub-teams (small: teams, not people)."""
        graph: dict[str, list[str]] = {}
        async for doc in self.teams.find({"teams.0": {"$exists": True}}, {"teams": 1}):
            graph[doc["_id"]] = doc["teams"]
        return graph

    async def existing_ids(self, kind: str, ids: Iterable[str]) -> set[str]:
        coll = self.users if kind == "users" else self.teams
        wanted = list(ids)
        found: set[str] = set()
        for i in range(0, len(wanted), 1000):
            async for doc in coll.find({"_id": {"$in": wanted[i : i + 1000]}}, {"_id": 1}):
                found.add(doc["_id"])
        return found

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

    @staticmethod
    def subscribers_query(topics: list[str]) -> dict[str, Any]:
        """Users subscribed to any of ``topics``, with prefix wildcards on both sides."""
        exact: set[str] = set()
        ors: list[dict[str, Any]] = []
        for topic in topics:
            exact.update(matching_subscriptions(topic))
            prefix = wildcard_prefix(topic)
            if prefix:
                ors.append({"topics": {"$regex": "^" + re.escape(prefix)}})
        ors.append({"topics": {"$in": sorted(exact)}})
        return {"$or": ors} if len(ors) > 1 else ors[0]

    async def count_users(self, query: dict[str, Any]) -> int:
        return await self.users.count_documents(query)

    async def user_ids(self, query: dict[str, Any], after: str | None, batch_size: int) -> AsyncIterator[list[str]]:
        """Ids of users matching ``query``, in id order, after ``after``, in batches (a cursor, not a list)."""
        if after is not None:
            query = {"$and": [query, {"_id": {"$gt": after}}]}
        cursor = self.users.find(query, {"_id": 1}, batch_size=batch_size).sort("_id", ASCENDING)
        async for batch in batched(cursor, "_id", batch_size):
            yield batch
