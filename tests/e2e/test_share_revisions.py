"""Over HTTP: follow-through fields on new shares, revisions, retraction, and shares that build on shares
(the share service's part of issue 12; what learn and notify do with the events is tested with them)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from learnloop_shared.events import decode, stable_event_id
from learnloop_shared.settings import Topics
from pymongo import AsyncMongoClient

from ..helpers import eventually, read_all, seed_subscribers
from .test_errors import assert_problem
from .test_loop import directory

TOPICS = Topics()
LATER = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0).isoformat()


async def share_events(stack, share_id: str) -> list:
    """Every event on ``learnloop.shares`` about ``share_id`` (its subject), in topic order."""
    records = await read_all(stack.infra, TOPICS.shares, timeout_ms=10000, quiet_ms=1000)
    return [(r.key.decode(), e) for r in records if (e := decode(r.value)).subject == share_id]


async def publish(api, author: str, body: dict) -> dict:
    r = await api.share.post("/v1/shares", json=body, headers=api.auth(author))
    assert r.status_code == 202, r.text
    return r.json()


async def test_new_shares_take_requires_due_at_reminders(api, unique):
    ids = await directory(api, unique)
    body = {
        "title": "Due soon",
        "audience": {"users": [ids["bob"]]},
        "requires": "applied",
        "due_at": LATER,
        "reminders": ["P2D", "PT4H", "pt3s", "PT180M"],
    }
    share = await publish(api, ids["alice"], body)
    assert share["requires"] == "applied" and share["reminders"] == ["PT3S", "PT3H", "PT4H", "P2D"]
    assert datetime.fromisoformat(share["due_at"]) == datetime.fromisoformat(LATER)
    assert share["revision"] == 1 and share["retracted_at"] is None
    r = await api.share.get(f"/v1/shares/{share['id']}", headers=api.auth(ids["alice"]))
    assert r.json()["reminders"] == share["reminders"] and r.json()["requires"] == "applied"
    plain = await publish(api, ids["alice"], {"title": "Plain", "audience": {"users": [ids["bob"]]}})
    assert (plain["requires"], plain["due_at"], plain["reminders"], plain["builds_on"]) == ("learned", None, [], [])

    for bad in (
        {"due_at": "2020-01-01T00:00:00Z"},
        {"due_at": "2999-01-01T00:00:00"},  # no time zone
        {"reminders": ["P1M"]},
        {"reminders": ["PT0S"]},
        {"reminders": [f"PT{i}S" for i in range(1, 12)]},
        {"requires": "read"},
        {"builds_on": [f"s{i}" for i in range(21)]},
    ):
        r = await api.share.post("/v1/shares", json={**body, **bad}, headers=api.auth(ids["alice"]))
        assert_problem(r, 422)


async def test_revisions_count_up_with_an_event_each(api, stack, unique):
    ids = await directory(api, unique)
    alice = api.auth(ids["alice"])
    share = await publish(api, ids["alice"], {"title": "v1", "audience": {"users": [ids["bob"]]}, "summary": "S"})
    path = f"/v1/shares/{share['id']}"

    r = await api.share.patch(path, json={"title": "v2", "url": "https://x.example/v2"}, headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2 and r.json()["title"] == "v2" and r.json()["summary"] == "S"
    r = await api.share.patch(path, json={"summary": None, "due_at": LATER, "reconfirm": False}, headers=alice)
    assert r.status_code == 200 and r.json()["revision"] == 3 and r.json()["summary"] is None
    # A publishing system may revise it too; anyone else gets 404, like GET.
    r = await api.share.patch(path, json={"reminders": ["PT1H"]}, headers=api.auth("wiki", "shares:publish"))
    assert r.status_code == 200 and r.json()["revision"] == 4 and r.json()["audience"]["users"] == []
    assert_problem(await api.share.patch(path, json={"title": "x"}, headers=api.auth(ids["bob"])), 404)
    # Concurrent revisions: each gets its own number.
    rs = await asyncio.gather(*(api.share.patch(path, json={"title": f"c{i}"}, headers=alice) for i in range(4)))
    assert sorted(r.json()["revision"] for r in rs) == [5, 6, 7, 8]

    for bad in ({}, {"reconfirm": True}, {"title": None}, {"due_at": "2020-01-01T00:00:00Z"}, {"audience": {}}):
        assert_problem(await api.share.patch(path, json=bad, headers=alice), 422)
    assert (await api.share.get(path, headers=alice)).json()["revision"] == 8

    async def all_revised():
        events = await share_events(stack, share["id"])
        revised = [e for _, e in events if e.type == "io.learnloop.share.revised.v1"]
        return len(revised) >= 7 and (events, revised)

    events, revised = await eventually(all_revised, timeout=30)
    assert [e.data.revision for e in revised] == list(range(2, 9))  # one partition: in order
    assert all(key == share["id"] for key, _ in events)
    first, second = revised[0].data, revised[1].data
    assert first.changed == ("title", "url") and first.reconfirm is True and first.url == "https://x.example/v2"
    assert second.changed == ("summary", "due_at") and second.reconfirm is False and second.title == "v2"
    assert revised[0].id == stable_event_id("share.revised", share["id"], "2")


async def test_retraction_is_final_and_happens_once(api, stack, unique):
    ids = await directory(api, unique)
    alice = api.auth(ids["alice"])
    share = await publish(api, ids["alice"], {"title": "Retract me", "audience": {"users": [ids["bob"]]}})
    path = f"/v1/shares/{share['id']}"
    assert_problem(await api.share.delete(path, headers=api.auth(ids["bob"])), 404)

    r = await api.share.delete(path, headers=alice)
    assert r.status_code == 200, r.text
    retracted = r.json()
    assert retracted["status"] == "retracted" and retracted["retracted_at"]
    again = await api.share.delete(path, headers=alice)
    assert again.status_code == 200 and again.json() == retracted
    r = await api.share.delete(path, headers=api.auth("wiki", "shares:publish"))
    assert r.status_code == 200 and r.json()["retracted_at"] == retracted["retracted_at"]
    assert_problem(await api.share.patch(path, json={"title": "too late"}, headers=alice), 409)
    assert (await api.share.get(path, headers=alice)).json()["status"] == "retracted"

    async def retraction_seen():
        events = await share_events(stack, share["id"])
        return any(e.type == "io.learnloop.share.retracted.v1" for _, e in events) and events

    events = await eventually(retraction_seen, timeout=30)
    [event] = [e for _, e in events if e.type == "io.learnloop.share.retracted.v1"]
    assert event.data.author_id == ids["alice"] and event.data.title == "Retract me"
    assert not [e for _, e in events if e.type == "io.learnloop.share.revised.v1"]


async def test_builds_on_reports_unknown_ids_tells_other_authors_and_lists_derived(api, stack, unique):
    ids = await directory(api, unique)
    alice, bob = ids["alice"], ids["bob"]
    original = await publish(api, bob, {"title": "Bob's tuning notes", "audience": {"users": [ids["carol"]]}})
    own = await publish(api, alice, {"title": "Alice's earlier", "audience": {"users": [ids["carol"]]}})
    gone = await publish(api, ids["carol"], {"title": "Retracted", "audience": {"users": [alice]}})
    assert (await api.share.delete(f"/v1/shares/{gone['id']}", headers=api.auth(ids["carol"]))).status_code == 200

    refs = [original["id"], f"ghost-{unique}", own["id"], gone["id"]]
    new = await publish(
        api, alice, {"title": "Building on it", "audience": {"users": [ids["carol"]]}, "builds_on": refs}
    )
    assert new["builds_on"] == [original["id"], own["id"]]
    assert new["unknown_builds_on"] == [f"ghost-{unique}", gone["id"]]

    async def built_on():
        events = await share_events(stack, original["id"])
        found = [(k, e) for k, e in events if e.type == "io.learnloop.share.built_on.v1"]
        return found

    [(key, event)] = await eventually(built_on, timeout=30)
    assert key == original["id"]
    assert (event.data.author_id, event.data.title) == (bob, "Bob's tuning notes")
    assert (event.data.by_share_id, event.data.by_author_id, event.data.by_title) == (
        new["id"],
        alice,
        "Building on it",
    )
    # Building on one's own share notifies nobody.
    assert not [e for _, e in await share_events(stack, own["id"]) if e.type == "io.learnloop.share.built_on.v1"]

    # derived: only the referenced share's author; newest first; paged; retracted ones leave the list
    later = await publish(
        api, ids["dave"], {"title": "Also", "audience": {"users": [alice]}, "builds_on": [original["id"]]}
    )
    derived = f"/v1/shares/{original['id']}/derived"
    r = await api.share.get(derived, params={"limit": 1}, headers=api.auth(bob))
    assert r.status_code == 200, r.text
    page = r.json()
    assert [i["share_id"] for i in page["items"]] == [later["id"]] and page["next_cursor"]
    assert set(page["items"][0]) == {"share_id", "title", "author_id", "created_at"}
    r = await api.share.get(derived, params={"limit": 1, "cursor": page["next_cursor"]}, headers=api.auth(bob))
    assert [(i["share_id"], i["author_id"], i["title"]) for i in r.json()["items"]] == [
        (new["id"], alice, "Building on it")
    ]
    assert r.json()["next_cursor"] is None
    for who in (alice, ids["carol"]):
        assert_problem(await api.share.get(derived, headers=api.auth(who)), 404)
    assert_problem(await api.share.get(derived, headers=api.auth("wiki", "shares:publish")), 404)
    assert_problem(await api.share.get(derived, params={"cursor": "nope"}, headers=api.auth(bob)), 422)
    assert (await api.share.delete(f"/v1/shares/{later['id']}", headers=api.auth(ids["dave"]))).status_code == 200
    r = await api.share.get(derived, headers=api.auth(bob))
    assert [i["share_id"] for i in r.json()["items"]] == [new["id"]]


async def test_a_running_fanout_stops_when_the_share_is_retracted(api, stack, unique):
    n = 10_000  # batches of 50 (LEARNLOOP_FANOUT_BATCH_SIZE in the e2e stack)
    topic = f"x{unique}"
    await seed_subscribers(stack.infra.mongo_url_for("share"), "e2e_share", topic, n, width=5)
    author = api.auth(f"author-{unique}")
    share = await publish(api, f"author-{unique}", {"title": "Stop me", "audience": {"topics": [topic]}})
    path = f"/v1/shares/{share['id']}"

    async def under_way():
        r = await api.share.get(path, headers=author)
        return r.json()["delivered"] > 0

    await eventually(under_way, timeout=30, interval=0.01)
    r = await api.share.delete(path, headers=author)
    assert r.status_code == 200 and r.json()["status"] == "retracted"

    share_db = AsyncMongoClient(stack.infra.mongo_url_for("share"), tz_aware=True)["e2e_share"]

    async def stopped():
        doc = await share_db["shares"].find_one({"_id": share["id"]})
        return doc.get("fanout", {}).get("stopped_at") and doc

    doc = await eventually(stopped, timeout=30)
    assert doc["status"] == "retracted"
    delivered = doc["delivered"]
    assert 0 < delivered < n, f"the fan-out did not stop: {delivered} of {n}"

    # Exactly the deliveries counted were sent (recipients' ids are unique to this test), none after the stop.
    records = await read_all(stack.infra, TOPICS.deliveries, timeout_ms=30000, quiet_ms=1500)
    sent = [r for r in records if r.key.decode().startswith(f"{topic}-")]
    assert len(sent) == delivered
    assert len({r.key for r in sent}) == delivered
    assert (await api.share.get(path, headers=author)).json()["delivered"] == delivered
