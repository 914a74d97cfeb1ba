"""The round plan: which reminder rounds, overdue notices and re-confirmation rounds a share has.

Collection ``rounds``, one document per (share, step)::

    {_id: "<share_id>|<step>", share_id, reason: "scheduled"|"overdue"|"revised"|"manual", due, revision,
     state: "planned"|"running"|"done"|"cancelled", created_at}

Steps: ``s<offset_seconds>`` per reminder (due = published_at + offset), ``due@<due_at isoformat>`` for the
overdue notice, ``r<revision>`` for a revision that asked for re-confirmation (due = when it was revised).
This module writes the plan from share events; executing rounds (claiming, leases, ``started_at``) is
``storage/rounds.py``. Every write here is replay-safe: rounds are inserted with ``$setOnInsert`` under
deterministic ids, and only ``planned`` rounds are cancelled or revived (a running or done round is left
to its runner).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc, upsert_many
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.follow_through import Step, planned_steps, revision_step

PLANNED_REASONS = ("scheduled", "overdue")  # the steps that follow from the share's reminders and due_at


class RoundPlan:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db["rounds"]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("share_id", ASCENDING), ("reason", ASCENDING)])

    async def plan(self, share: Mapping[str, Any]) -> None:
        """Plan the share's scheduled reminders and overdue notice (nothing for a retracted share)."""
        if share.get("status") == "retracted":
            return
        await self._insert(planned_steps(share))

    async def revised(self, share: Mapping[str, Any], reconfirm: bool) -> None:
        """Bring the plan in line with a revised share: planned steps no longer wanted (changed reminders or
        due_at) are cancelled, wanted ones added (or revived if a revision had cancelled them), and a
        re-confirmation round ``r<revision>`` added when the revision asks for it."""
        if share.get("status") == "retracted":
            return
        steps = planned_steps(share)
        wanted = [s.id for s in steps]
        sid = share["_id"]
        now = utcnow()
        await self.coll.update_many(
            {"share_id": sid, "reason": {"$in": list(PLANNED_REASONS)}, "state": "planned", "_id": {"$nin": wanted}},
            {"$set": {"state": "cancelled", "cancelled_at": now}},
        )
        if wanted:
            await self.coll.update_many(
                {"_id": {"$in": wanted}, "state": "cancelled", "started_at": None},
                {"$set": {"state": "planned"}, "$unset": {"cancelled_at": ""}},
            )
        if reconfirm and (revised_at := _revised_at(share)) is not None:
            steps.append(revision_step(sid, int(share["revision"]), revised_at))
        await self._insert(steps)

    async def cancel_all(self, share_id: str) -> None:
        """A retracted share: every round not finished yet is cancelled (a running one stops at its next check)."""
        await self.coll.update_many(
            {"share_id": share_id, "state": {"$in": ["planned", "running"]}},
            {"$set": {"state": "cancelled", "cancelled_at": utcnow()}},
        )

    async def of_share(self, share_id: str) -> list[Doc]:
        return await self.coll.find({"share_id": share_id}).sort("_id", ASCENDING).to_list()

    async def reminder_starts(self, share_id: str) -> list[datetime]:
        """When each reminder round (scheduled or manual) of the share started, for those that have."""
        query = {"share_id": share_id, "reason": {"$in": ["scheduled", "manual"]}, "started_at": {"$ne": None}}
        return [d["started_at"] async for d in self.coll.find(query, {"started_at": 1})]

    async def _insert(self, steps: Sequence[Step]) -> None:
        now = utcnow()
        ops = [
            UpdateOne(
                {"_id": s.id},
                {
                    "$setOnInsert": {
                        "share_id": s.share_id,
                        "reason": s.reason,
                        "due": s.due,
                        "revision": s.revision,
                        "state": "planned",
                        "created_at": now,
                    }
                },
                upsert=True,
            )
            for s in steps
        ]
        await upsert_many(self.coll, ops)


def _revised_at(share: Mapping[str, Any]) -> datetime | None:
    revision = share.get("revision", 1)
    for r in share.get("revisions") or ():
        if r.get("revision") == revision:
            at: datetime = r["at"]
            return at
    return None
