"""The per-process cache of "who has preferences / webhooks" against the real database."""

from __future__ import annotations

from learnloop_notify.domain.preferences import Preferences
from learnloop_notify.domain.webhooks import WebhookIn
from learnloop_notify.storage.owners import OwnerSet
from learnloop_notify.storage.preferences import PreferenceStore
from learnloop_notify.storage.webhooks import WebhookStore


async def test_a_write_in_one_process_is_seen_by_the_next_batch_of_another(mongo, unique):
    db = mongo[f"owners_{unique}"]
    api, worker = WebhookStore(db), WebhookStore(db)  # two processes' stores
    await api.ensure_indexes()
    assert await worker.for_owners(["ann", "bob"]) == {}
    await api.put(
        "h1", "ann", WebhookIn(url="https://example.com/hook", events=["share.delivered"], secret="whsec_" + "a" * 32)
    )
    assert list(await worker.for_owners(["ann", "bob"])) == ["ann"]
    await api.delete("h1", "ann")
    assert await worker.for_owners(["ann", "bob"]) == {}

    api_prefs, worker_prefs = PreferenceStore(db), PreferenceStore(db)
    assert await worker_prefs.for_users(["ann"]) == {}
    await api_prefs.put("ann", Preferences(digest_window_s=600))
    assert (await worker_prefs.for_users(["ann", "bob"]))["ann"].digest_window_s == 600


async def test_too_many_owners_are_not_cached_and_a_lost_bump_expires(mongo, unique):
    db = mongo[f"owners_{unique}"]
    coll = db["things"]
    await coll.insert_many([{"_id": f"u{i}"} for i in range(5)])
    assert await OwnerSet(db, "things", coll, "_id", max_owners=3).among(["u1", "x"]) is None
    cached = OwnerSet(db, "things", coll, "_id", max_age_s=0.0)
    assert await cached.among(["u1", "u9"]) == {"u1"}
    await coll.insert_one({"_id": "u9"})  # written without a bump
    assert await cached.among(["u1", "u9"]) == {"u1", "u9"}  # reloaded: older than max_age_s
