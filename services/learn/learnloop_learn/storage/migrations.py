"""Data migrations run at start-up, before the service serves or consumes. Each is idempotent and safe
with several processes running it at once (see each one)."""

from __future__ import annotations

import logging

from learnloop_shared.mongo import Doc, upsert_many
from pymongo import ASCENDING, UpdateOne

from ..domain.audience import MAX_BUCKET, Bucket
from .learning import LearningStore

log = logging.getLogger(__name__)
LEGACY_RECIPIENTS = "recipients"  # one document per recipient, before buckets


async def adopt_legacy_recipients(store: LearningStore) -> int:
    """Move recipients stored one document each (before buckets) into buckets and progress, then drop
    them. Idempotent: several processes may run it at once, and a crash midway is resumed."""
    if LEGACY_RECIPIENTS not in await store.db.list_collection_names():
        return 0
    legacy = store.db[LEGACY_RECIPIENTS]
    log.info("moving recipients from %r into buckets", LEGACY_RECIPIENTS)
    moved, group = 0, list[Doc]()
    async for doc in legacy.find({}).sort("_id", ASCENDING).batch_size(MAX_BUCKET):
        if group and (group[-1]["share_id"] != doc["share_id"] or len(group) >= MAX_BUCKET):
            moved += await _adopt(store, group)
            group = []
        group.append(doc)
    if group:
        moved += await _adopt(store, group)
    await legacy.drop()
    log.info("moved %d recipients into buckets", moved)
    return moved


async def _adopt(store: LearningStore, docs: list[Doc]) -> int:
    head = docs[0]
    users = tuple(d["user_id"] for d in docs)
    bucket = Bucket(f"{head['share_id']}|m{users[0]}", head["share_id"], head["delivered_at"], users)
    added = await store.audience.add([bucket])
    ops = [
        UpdateOne(
            {"_id": f"{d['share_id']}|{d['user_id']}"},
            {
                "$addToSet": {"acknowledged": {"$each": d.get("acknowledged", [])}},
                "$max": {"done": bool(d.get("done"))},  # see adopt_completed_progress
                "$setOnInsert": {"share_id": d["share_id"], "user_id": d["user_id"]},
            },
            upsert=True,
        )
        for d in docs
        if d.get("acknowledged") or d.get("done")
    ]
    if ops:
        await upsert_many(store.progress, ops)
    return added


COMPLETED_PROGRESS = "progress-completed-revisions"


async def adopt_completed_progress(store: LearningStore) -> int:
    """Progress stored before revisions marked a completed recipient ``done: true``; now completion is
    ``last_completed_revision`` (see ``storage/learning.py``). Such recipients completed revision 1.
    Idempotent (only documents without ``last_completed_revision`` change); run once per database, then
    remembered in ``migrations`` so later starts skip the scan."""
    marks = store.db["migrations"]
    if await marks.find_one({"_id": COMPLETED_PROGRESS}) is not None:
        return 0
    result = await store.progress.update_many(
        {"done": True, "last_completed_revision": None},
        {"$set": {"last_completed_revision": 1, "completed_revisions": [1], "cycle": 1}},
    )
    await marks.update_one({"_id": COMPLETED_PROGRESS}, {"$setOnInsert": {"done": True}}, upsert=True)
    if result.modified_count:
        log.info("%d completed recipients moved to completed revisions", result.modified_count)
    return int(result.modified_count)
