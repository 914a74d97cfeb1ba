"""Learn's copy of the directory (written only from directory events; rules in :mod:`..domain.directory`).

Collections:

- ``dir_users`` ``{_id: user_id, name, email, version}``;
- ``dir_teams`` ``{_id: team_id, name, teams: [nested], managers, version, members_total, changed_at}``;
- ``memberships`` ``{_id: user_id, teams: [the user's DIRECT teams]}`` (a user in no team has no document);
- ``dir_team_parts`` ``{_id: "<team>|v<version>|p<part>", team_id, version, part, parts, members, ...}``:
  parts of a team version waiting for the rest. A version's parts are dropped once it (or a newer one) is
  applied; parts of a version that never completes (a republish went missing) expire after
  :data:`STAGED_PARTS_TTL_S`.

``memberships`` is the truth of who is in a team: applying a version diffs the new members against the
users whose document lists the team, and writes ``dir_teams`` last. A crash in between leaves the stored
version older, so the same events apply again and the diff finishes the work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import IN_CHUNK, Doc, find_in, in_id_order, insert_many_new, upsert_many
from pymongo import ASCENDING, DeleteMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.directory import TeamPart, UserVersion
from ..domain.teams import TeamGraph, TeamInfo

STAGED_PARTS_TTL_S = 7 * 24 * 3600


class DirectoryCopy:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.users = db["dir_users"]
        self.teams = db["dir_teams"]
        self.memberships = db["memberships"]
        self.parts = db["dir_team_parts"]

    async def ensure_indexes(self) -> None:
        await self.memberships.create_index([("teams", ASCENDING), ("_id", ASCENDING)], name="members_of_team")
        await self.parts.create_index([("team_id", ASCENDING), ("version", ASCENDING)], name="parts_of_version")
        await self.parts.create_index("staged_at", expireAfterSeconds=STAGED_PARTS_TTL_S, name="staged_expire")

    # --- from events -------------------------------------------------------------------------
    async def put_users(self, users: Sequence[UserVersion]) -> None:
        """Store each user unless the copy holds the same or a newer version (the upsert then hits the
        existing ``_id`` and is refused as a duplicate, which ``upsert_many`` accepts)."""
        await upsert_many(
            self.users,
            [
                UpdateOne(
                    {"_id": u.user_id, "version": {"$lt": u.version}},
                    {"$set": {"name": u.name, "email": u.email, "version": u.version}},
                    upsert=True,
                )
                for u in users
            ],
        )

    async def team_version(self, team_id: str) -> int:
        doc = await self.teams.find_one({"_id": team_id}, {"version": 1})
        return int(doc["version"]) if doc else 0

    async def stage(self, parts: Sequence[TeamPart]) -> None:
        """Keep parts until their version is complete (a part stored before is skipped)."""
        now = utcnow()
        await insert_many_new(self.parts, [_part_doc(p, now) for p in parts])

    async def staged(self, team_id: str, version: int) -> list[TeamPart]:
        query = {"team_id": team_id, "version": version}
        return [_part(d) async for d in self.parts.find(query).sort("part", ASCENDING)]

    async def drop_staged(self, team_id: str, up_to_version: int) -> None:
        await self.parts.delete_many({"team_id": team_id, "version": {"$lte": up_to_version}})

    async def members_of(self, team_id: str) -> set[str]:
        """The users whose direct teams include ``team_id`` (at most a team's size: ≤ 50,000 ids)."""
        return {d["_id"] async for d in self.memberships.find({"teams": team_id}, {"_id": 1})}

    async def change_memberships(self, team_id: str, joined: Sequence[str], left: Sequence[str]) -> None:
        """Add ``team_id`` to the direct teams of ``joined`` and take it from ``left``, in bulk writes of
        :data:`IN_CHUNK`; a user left with no team loses their document."""
        for i in range(0, len(joined), IN_CHUNK):
            chunk = joined[i : i + IN_CHUNK]
            await upsert_many(
                self.memberships, [UpdateOne({"_id": u}, {"$addToSet": {"teams": team_id}}, upsert=True) for u in chunk]
            )
        for i in range(0, len(left), IN_CHUNK):
            gone = list(left[i : i + IN_CHUNK])
            pulls: list[Any] = [UpdateOne({"_id": u}, {"$pull": {"teams": team_id}}) for u in gone]
            # Evaluated per document after the pulls: a team added meanwhile by another writer keeps it.
            pulls.append(DeleteMany({"_id": {"$in": gone}, "teams": {"$size": 0}}))
            await self.memberships.bulk_write(pulls, ordered=True)

    async def put_team(self, head: TeamPart) -> None:
        """Record the team's fields at ``head.version`` unless the copy holds the same or a newer one."""
        fields = {
            "name": head.name,
            "teams": list(head.teams),
            "managers": list(head.managers),
            "version": head.version,
            "members_total": head.members_total,
            "changed_at": head.changed_at,
        }
        op = UpdateOne({"_id": head.team_id, "version": {"$lt": head.version}}, {"$set": fields}, upsert=True)
        await upsert_many(self.teams, [op])

    # --- reads -------------------------------------------------------------------------------
    async def graph(self) -> TeamGraph:
        """Every team (names, nesting, managers; no members)."""
        projection = {"name": 1, "teams": 1, "managers": 1}
        return TeamGraph.of(
            [
                TeamInfo(d["_id"], d.get("name") or "", tuple(d.get("teams", ())), tuple(d.get("managers", ())))
                async for d in self.teams.find({}, projection)
            ]
        )

    async def direct_teams(self, users: Collection[str], among: Collection[str] | None = None) -> dict[str, list[str]]:
        """The direct teams of those of ``users`` who are in any team (with ``among``: in any of those)."""
        query = {"teams": {"$in": list(among)}} if among is not None else None
        return {d["_id"]: list(d.get("teams", ())) async for d in find_in(self.memberships, "_id", users, query)}

    async def names(self, users: Collection[str]) -> dict[str, str]:
        return {d["_id"]: d.get("name", "") async for d in find_in(self.users, "_id", users, None, {"name": 1})}

    async def sorted_memberships(self, first_user: str, among: Collection[str] | None = None) -> AsyncIterator[Doc]:
        """``{_id: user_id, teams}`` of users ≥ ``first_user`` in ``_id`` order (with ``among``: only those
        in any of those teams)."""
        query: Doc = {"_id": {"$gte": first_user}}
        if among is not None:
            query["teams"] = {"$in": list(among)}
        async for doc in in_id_order(self.memberships.find(query, {"teams": 1})):
            yield doc

    async def sorted_names(self, first_user: str) -> AsyncIterator[Doc]:
        """``{_id: user_id, name}`` of users ≥ ``first_user`` in ``_id`` order."""
        async for doc in in_id_order(self.users.find({"_id": {"$gte": first_user}}, {"name": 1})):
            yield doc

    async def scanned_by_merge(self, names: bool) -> int:
        """About how many documents a merge join over the directory reads at most: every membership, and
        with ``names`` every user (estimated from collection metadata, no scan)."""
        n = await self.memberships.estimated_document_count()
        return n + await self.users.estimated_document_count() if names else n

    async def members_in(self, teams: Collection[str], chunk: int = IN_CHUNK) -> AsyncIterator[list[str]]:
        """The users who belong directly to any of ``teams``, each once (one document per user), ``chunk`` at
        a time. Unsorted on purpose: a sort over many ``$in`` values would be a blocking sort on MongoDB."""
        batch: list[str] = []
        cursor = self.memberships.find({"teams": {"$in": list(teams)}}, {"_id": 1})
        async for d in cursor.batch_size(chunk):
            batch.append(d["_id"])
            if len(batch) == chunk:
                yield batch
                batch = []
        if batch:
            yield batch


def _part_doc(p: TeamPart, now: Any) -> Doc:
    return {
        "_id": f"{p.team_id}|v{p.version}|p{p.part}",
        "team_id": p.team_id,
        "version": p.version,
        "part": p.part,
        "parts": p.parts,
        "members": list(p.members),
        "name": p.name,
        "teams": list(p.teams),
        "managers": list(p.managers),
        "members_total": p.members_total,
        "changed_at": p.changed_at,
        "staged_at": now,
    }


def _part(d: Doc) -> TeamPart:
    return TeamPart(
        team_id=d["team_id"],
        name=d["name"],
        teams=tuple(d["teams"]),
        managers=tuple(d["managers"]),
        members=tuple(d["members"]),
        members_total=int(d["members_total"]),
        part=int(d["part"]),
        parts=int(d["parts"]),
        version=int(d["version"]),
        changed_at=d["changed_at"],
    )
