"""Republishing the whole directory (``POST /v1/directory/republish``), for rebuilding a copy of it.

A request stores a job (or joins the one still waiting: see ``storage/republish.py``); a worker's job
runner claims it with a lease and streams users, then teams, in ``_id`` order. Each batch (at most
``batch`` users; at most ``batch`` teams and :data:`MAX_MEMBERS_PER_BATCH` members, or one larger team)
is read, and its events stored in the outbox, in one transaction with the checkpoint: after a crash the
next runner resumes after the last committed batch, and a batch is never committed twice.

Events carry each document's stored version (a copy takes a version only if newer than its own, so a
copy rebuilt from empty gets everything and an up-to-date copy changes nothing). Their ids are stable per
(job, document, version, part): new messages for this job, the same ones on a retry of a batch.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from learnloop_shared.documents import Doc
from learnloop_shared.events import utcnow
from learnloop_shared.outbox import Outbox, retry_transient

from ..storage.republish import DONE, TEAMS, USERS, LeaseLost, RepublishStore
from .directory import team_events, user_events

# Members of the teams of one batch (one team may have more: it is then a batch of its own). Bounds the
# memory of a batch and the size of its transaction.
MAX_MEMBERS_PER_BATCH = 10_000


@dataclass(frozen=True)
class Requested:
    job_id: str
    users: int
    teams: int
    joined: bool


class Republishing:
    def __init__(
        self, store: RepublishStore, outbox: Outbox, topic: str, source: str, batch: int, lease_s: float
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._topic = topic
        self._source = source
        self._batch = batch
        self._lease_s = lease_s

    async def request(self) -> Requested:
        """Record a request; the counts are the directory's at this moment."""
        users, teams = await self._store.counts()
        job = await self._store.request(str(uuid.uuid4()), users, teams, utcnow())
        return Requested(job["_id"], users, teams, joined=job.get("requests", 1) > 1)

    async def run(self, job: Doc, owner: str) -> Doc:
        """Run a claimed job to its end from its checkpoint; raises :class:`LeaseLost` once it is not ours."""
        job_id = job["_id"]
        pos = await self._store.position(job_id)
        renew_at = time.monotonic() + self._lease_s / 3
        while pos["phase"] != DONE:
            if time.monotonic() >= renew_at:
                await self._store.renew(job_id, owner, self._lease_s, utcnow())
                renew_at = time.monotonic() + self._lease_s / 3
            if pos["phase"] == USERS:
                pos = await self._users(job_id, owner, pos)
            else:
                pos = await self._teams(job_id, owner, pos)
        return await self._store.finish(job_id, owner, utcnow())

    @retry_transient
    async def _users(self, job_id: str, owner: str, pos: Doc) -> Doc:
        async with self._outbox.transaction() as tx:
            docs = await self._store.users_after(pos["after"], self._batch, tx.session)
            unversioned = [d["_id"] for d in docs if "version" not in d]
            if unversioned:
                await self._store.stamp_versions(USERS, unversioned, tx.session)
            for doc in docs:
                for key, event in user_events(doc, self._source, "republish", job_id):
                    tx.emit(self._topic, key, event)
            if len(docs) == self._batch:
                after: Doc = {"phase": USERS, "after": docs[-1]["_id"]}
            else:
                after = {"phase": TEAMS, "after": None}
            await self._store.checkpoint(job_id, owner, pos, after, {"sent_users": len(docs)}, tx.session)
        if tx.duplicate:  # these events were stored already: another runner committed this batch
            raise LeaseLost(job_id)
        return {**pos, **after}

    @retry_transient
    async def _teams(self, job_id: str, owner: str, pos: Doc) -> Doc:
        sizes = await self._store.team_sizes_after(pos["after"], self._batch)
        picked: list[str] = []
        members = 0
        for team in sizes:
            if picked and members + int(team["n"]) > MAX_MEMBERS_PER_BATCH:
                break
            picked.append(team["_id"])
            members += int(team["n"])
        last = len(sizes) < self._batch and len(picked) == len(sizes)
        async with self._outbox.transaction() as tx:
            docs = await self._store.teams_by_id(picked, tx.session) if picked else []
            unversioned = [d["_id"] for d in docs if "version" not in d]
            if unversioned:
                await self._store.stamp_versions(TEAMS, unversioned, tx.session)
            for doc in docs:
                for key, event in team_events(doc, self._source, "republish", job_id):
                    tx.emit(self._topic, key, event)
            after: Doc = {"phase": DONE, "after": None} if last else {"phase": TEAMS, "after": picked[-1]}
            await self._store.checkpoint(job_id, owner, pos, after, {"sent_teams": len(docs)}, tx.session)
        if tx.duplicate:
            raise LeaseLost(job_id)
        return {**pos, **after}
