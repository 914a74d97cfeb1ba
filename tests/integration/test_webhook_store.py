"""Webhook storage against the real database: ids scoped to owners, and re-keying webhooks stored before."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from learnloop_notify.domain.webhooks import WebhookIn
from learnloop_notify.storage.migrations import rekey_webhooks
from learnloop_notify.storage.webhooks import WebhookStore

SECRET = "whsec_" + "a" * 32
AT = datetime(2026, 1, 1, tzinfo=UTC)


def hook_in(url: str) -> WebhookIn:
    return WebhookIn(url=url, events=["share.delivered"], secret=SECRET)


async def test_two_owners_may_use_the_same_id(mongo, unique):
    store = WebhookStore(mongo[f"hooks_{unique}"])
    await store.ensure_indexes()
    await store.put("ci", "ann", hook_in("https://ann.example/hook"))
    await store.put("ci", "bob", hook_in("https://bob.example/hook"))
    ann, bob = await store.get("ci", "ann"), await store.get("ci", "bob")
    assert ann is not None and bob is not None
    assert (ann["url"], bob["url"]) == ("https://ann.example/hook", "https://bob.example/hook")
    assert await store.get("ci", "carol") is None
    assert not await store.delete("ci", "carol")
    assert await store.delete("ci", "ann")
    assert await store.get("ci", "bob") is not None
    hooks = await store.for_owners(["ann", "bob"])
    assert list(hooks) == ["bob"] and hooks["bob"][0]["hook_id"] == "ci"


def delivery(webhook_id: str, n: str, status: str = "pending") -> dict:
    return {
        "_id": f"{webhook_id}|{n}",
        "webhook_id": webhook_id,
        "owner_id": "ann",
        "notification_id": n,
        "event_type": "io.learnloop.notification.created.v1",
        "body": "{}",
        "status": status,
        "attempts": 0,
        "next_attempt_at": AT,
        "created_at": AT,
    }


async def test_webhooks_stored_under_bare_ids_are_re_keyed_once_by_any_number_of_processes(mongo, unique):
    db = mongo[f"hooks_{unique}"]
    legacy = {"owner_id": "ann", "url": "https://ann.example/hook", "events": ["share.delivered"], "secret": SECRET}
    await db["webhooks"].insert_many(
        [{"_id": "ci", **legacy, "created_at": AT, "updated_at": AT, "lease_owner": "x", "lease_until": AT}]
    )
    await db["webhook_deliveries"].insert_many(
        [delivery("ci", f"n{i}") for i in range(700)] + [delivery("ci", "done", "delivered")]
    )
    stores = [WebhookStore(db) for _ in range(3)]  # three processes starting at once
    await asyncio.gather(*(rekey_webhooks(s) for s in stores))
    assert await rekey_webhooks(stores[0]) == 0  # nothing left: running again changes nothing

    assert await db["webhooks"].count_documents({}) == 1
    hook = await stores[0].get("ci", "ann")
    assert hook is not None and hook["_id"] == "ann/ci" and hook["hook_id"] == "ci" and "lease_owner" not in hook
    deliveries = await db["webhook_deliveries"].find({}).to_list()
    assert len(deliveries) == 701
    assert {d["webhook_id"] for d in deliveries} == {"ann/ci"}
    assert {d["_id"] for d in deliveries} == {f"ann/ci|n{i}" for i in range(700)} | {"ann/ci|done"}
    listed = await stores[0].list("ann/ci", "delivered", None, 10)
    assert [d["notification_id"] for d in listed] == ["done"]
