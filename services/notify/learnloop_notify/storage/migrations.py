"""Data migrations run at start-up, before the service serves or consumes. Each is idempotent and safe
with several processes running it at once (see each one)."""

from __future__ import annotations

import logging

from learnloop_shared.mongo import insert_many_new

from .webhooks import WebhookStore, webhook_key

log = logging.getLogger(__name__)
LEGACY = {"hook_id": {"$exists": False}}  # stored before ids were scoped: the id alone was the key


async def rekey_webhooks(store: WebhookStore) -> int:
    """Re-key webhooks stored under their bare id (and their deliveries) to ``"<owner>/<id>"``.

    Idempotent, and safe with several processes at once or after a crash midway: copies are
    inserted without overwriting (a copy already there, maybe already delivered, wins) and the
    originals are deleted only after their copies exist.
    """
    moved = 0
    async for old in store.hooks.find(LEGACY):
        key = webhook_key(old["owner_id"], old["_id"])
        hook = {k: v for k, v in old.items() if k not in ("lease_owner", "lease_until")}
        await insert_many_new(store.hooks, [{**hook, "_id": key, "hook_id": old["_id"]}])
        while batch := await store.deliveries.find({"webhook_id": old["_id"]}).limit(500).to_list():
            copies = [{**d, "_id": f"{key}|{d['notification_id']}", "webhook_id": key} for d in batch]
            await insert_many_new(store.deliveries, copies)
            await store.deliveries.delete_many({"_id": {"$in": [d["_id"] for d in batch]}})
        await store.hooks.delete_one({"_id": old["_id"], **LEGACY})
        moved += 1
    if moved:
        log.info("re-keyed %d webhooks to <owner>/<id>", moved)
    return moved
