"""Directory republish jobs: the request, its lease, its checkpoint, and the reads it streams.

Two documents per job, as for learn's reminder rounds (and for the same reason):

- ``directory_republish`` (the job): ``state`` ``waiting`` → ``running`` → ``done``, the counts at request
  time, and the lease (``lease_owner``, ``lease_until``, ``claims``). Written without transactions.
- ``directory_republish_checkpoints`` (same ``_id``): the position (``phase`` ``users`` | ``teams`` |
  ``done``, ``after`` = the last ``_id`` sent) and the counts sent. Moved only inside the transaction that
  stores the batch's events, and only from the position the runner read: a batch is committed once,
  whatever happens to leases. A runner killed inside that transaction leaves it open on the server
  until it is reaped; the lease lives in the other document so the next runner can claim at once.

At most one job is ``waiting`` (a unique partial index): a request while one waits joins it; a waiting job
starts once no other job runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from learnloop_shared.mongo import Doc
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

WAITING, RUNNING, DONE = "waiting", "running", "done"
USERS, TEAMS = "users", "teams"
# Finished jobs are kept this long (for operators to see when the directory was last re-sent).
KEEP_DONE = timedelta(days=7)
USER_FIELDS = {"name": 1, "email": 1, "version": 1, "updated_at": 1}


class LeaseLost(Exception):
    """The job is no longer this runner's: another took it over (its lease had expired), or it ended."""


class RepublishStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.jobs = db["directory_republish"]
        self.checkpoints = db["directory_republish_checkpoints"]
        self.users = db["users"]
        self.teams = db["teams"]

    async def ensure_indexes(self) -> None:
        await self.jobs.create_index(
            [("state", ASCENDING)], unique=True, partialFilterExpression={"state": WAITING}, name="one_waiting"
        )
        await self.jobs.create_index([("state", ASCENDING), ("lease_until", ASCENDING)])
        await self.jobs.create_index(
            [("finished_at", ASCENDING)], expireAfterSeconds=int(KEEP_DONE.total_seconds()), name="done_ttl"
        )

    # --- requests -------------------------------------------------------------------------------
    async def counts(self) -> tuple[int, int]:
        """(users, teams) now: from the collections' metadata, so a request stays fast at any size."""
        return await self.users.estimated_document_count(), await self.teams.estimated_document_count()

    async def request(self, job_id: str, users: int, teams: int, now: datetime) -> Doc:
        """The waiting job, joined if there is one, else created (``requests`` counts those it serves)."""
        while True:
            joined = await self.jobs.find_one_and_update(
                {"state": WAITING},
                {"$inc": {"requests": 1}, "$set": {"users": users, "teams": teams, "last_requested_at": now}},
                return_document=ReturnDocument.AFTER,
            )
            if joined is not None:
                return joined
            doc: Doc = {
                "_id": job_id,
                "state": WAITING,
                "requested_at": now,
                "last_requested_at": now,
                "requests": 1,
                "users": users,
                "teams": teams,
                "claims": 0,
            }
            try:
                await self.jobs.insert_one(doc)
                return doc
            except DuplicateKeyError:
                continue  # another request created the waiting job meanwhile: join it

    # --- claiming and leases ----------------------------------------------------------------------
    async def claim(self, owner: str, lease_s: float, now: datetime) -> Doc | None:
        """Atomically take the oldest waiting job, or a running one whose runner's lease expired.

        One job runs at a time: while a job holds a live lease, a waiting one stays waiting (requests keep
        joining it), so a burst of requests costs at most two passes over the directory, not one per request.
        """
        if await self.jobs.find_one({"state": RUNNING, "lease_until": {"$gt": now}}, {"_id": 1}) is not None:
            return None
        query: Doc = {"$or": [{"state": WAITING}, {"state": RUNNING, "lease_until": {"$lte": now}}]}
        update: list[Doc] = [
            {
                "$set": {
                    "state": RUNNING,
                    "lease_owner": owner,
                    "lease_until": now + timedelta(seconds=lease_s),
                    "started_at": {"$ifNull": ["$started_at", now]},
                    "claims": {"$add": [{"$ifNull": ["$claims", 0]}, 1]},
                }
            }
        ]
        return await self.jobs.find_one_and_update(
            query, update, sort=[("requested_at", ASCENDING)], return_document=ReturnDocument.AFTER
        )

    async def renew(self, job_id: str, owner: str, lease_s: float, now: datetime) -> None:
        result = await self.jobs.update_one(
            {"_id": job_id, "state": RUNNING, "lease_owner": owner},
            {"$set": {"lease_until": now + timedelta(seconds=lease_s)}},
        )
        if result.matched_count == 0:
            raise LeaseLost(job_id)

    async def position(self, job_id: str) -> Doc:
        """The job's checkpoint, created at the start on first use (read outside any transaction)."""
        doc = await self.checkpoints.find_one({"_id": job_id})
        if doc is None:
            start: Doc = {"phase": USERS, "after": None, "sent_users": 0, "sent_teams": 0}
            await self.checkpoints.update_one({"_id": job_id}, {"$setOnInsert": start}, upsert=True)
            doc = await self.checkpoints.find_one({"_id": job_id}) or {"_id": job_id, **start}
        return doc

    async def checkpoint(
        self, job_id: str, owner: str, before: Doc, after: Doc, sent: Doc, session: AsyncClientSession
    ) -> None:
        """Inside the batch's transaction: move the position from ``before`` to ``after`` (``phase`` and
        ``after``), adding ``sent`` (``sent_users``/``sent_teams``). Raises :class:`LeaseLost` (aborting
        the transaction) if the job is no longer this runner's or another runner moved the position."""
        held = await self.jobs.find_one(
            {"_id": job_id, "state": RUNNING, "lease_owner": owner}, {"_id": 1}, session=session
        )
        if held is None:
            raise LeaseLost(job_id)
        query = {"_id": job_id, "phase": before["phase"], "after": before["after"]}
        result = await self.checkpoints.update_one(query, {"$set": after, "$inc": sent}, session=session)
        if result.matched_count == 0:
            raise LeaseLost(job_id)

    async def finish(self, job_id: str, owner: str, now: datetime) -> Doc:
        ck = await self.checkpoints.find_one({"_id": job_id}) or {}
        sent = {"sent_users": int(ck.get("sent_users", 0)), "sent_teams": int(ck.get("sent_teams", 0))}
        done = await self.jobs.find_one_and_update(
            {"_id": job_id, "state": RUNNING, "lease_owner": owner},
            {"$set": {"state": DONE, "finished_at": now, **sent}, "$unset": {"lease_until": ""}},
            return_document=ReturnDocument.AFTER,
        )
        if done is None:
            raise LeaseLost(job_id)
        await self.checkpoints.delete_one({"_id": job_id})
        return done

    async def job(self, job_id: str) -> Doc | None:
        return await self.jobs.find_one({"_id": job_id})

    # --- what a job streams -----------------------------------------------------------------------
    async def users_after(self, after: str | None, limit: int, session: AsyncClientSession) -> list[Doc]:
        """The next ``limit`` users in ``_id`` order (what their event carries)."""
        query: Doc = {"_id": {"$gt": after}} if after is not None else {}
        cursor = self.users.find(query, USER_FIELDS, session=session).sort("_id", ASCENDING).limit(limit)
        return await cursor.to_list()

    async def team_sizes_after(self, after: str | None, limit: int) -> list[Doc]:
        """The next ``limit`` teams in ``_id`` order with their member counts, without the members."""
        match: Doc = {"_id": {"$gt": after}} if after is not None else {}
        pipeline: list[Doc] = [
            {"$match": match},
            {"$sort": {"_id": 1}},
            {"$limit": limit},
            {"$project": {"n": {"$size": {"$ifNull": ["$members", []]}}}},
        ]
        return await (await self.teams.aggregate(pipeline)).to_list()

    async def teams_by_id(self, team_ids: Sequence[str], session: AsyncClientSession) -> list[Doc]:
        """Those teams in full, in ``_id`` order."""
        return await self.teams.find({"_id": {"$in": list(team_ids)}}, session=session).sort("_id", ASCENDING).to_list()

    async def stamp_versions(self, coll: str, ids: Sequence[str], session: AsyncClientSession) -> None:
        """Give documents from before versions version 1, so the next change is version 2 (never a second,
        different version 1)."""
        target = self.users if coll == USERS else self.teams
        await target.update_many(
            {"_id": {"$in": list(ids)}, "version": {"$exists": False}}, {"$set": {"version": 1}}, session=session
        )
