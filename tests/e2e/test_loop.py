"""The whole loop through HTTP only: share → recipients' inboxes → acknowledgements → author feedback."""

from __future__ import annotations

import asyncio
import re
import time

from ..helpers import eventually

ADMIN = ("directory:write",)


async def directory(api, u: str) -> dict[str, str]:
    """Users and a team, unique to the test (u), so tests do not see each other's data."""
    admin = api.auth("admin", *ADMIN)
    ids = {name: f"{name}-{u}" for name in ("alice", "bob", "carol", "dave", "erin")}
    topics = {"alice": [], "bob": ["kafka.*"], "carol": [], "dave": [f"t{u}.streams"], "erin": []}
    for name, uid in ids.items():
        r = await api.share.put(f"/v1/users/{uid}", json={"name": name.title(), "topics": topics[name]}, headers=admin)
        assert r.status_code == 200, r.text
    r = await api.share.put(
        f"/v1/teams/team-{u}", json={"name": "Team", "members": [ids["bob"], ids["carol"]]}, headers=admin
    )
    assert r.status_code == 200, r.text
    ids["team"] = f"team-{u}"
    return ids


async def inbox(api, user: str, **params):
    r = await api.notify.get("/v1/notifications", params=params, headers=api.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


async def test_share_reaches_recipients_and_feedback_reaches_the_author(api, unique):
    ids = await directory(api, unique)
    alice, bob, carol, dave = ids["alice"], ids["bob"], ids["carol"], ids["dave"]
    body = {
        "title": "Tuning Kafka consumers",
        "summary": "What we learned about fetch sizes",
        "url": "https://wiki.example.com/kafka",
        "topics": [f"t{unique}.streams"],
        "audience": {
            "users": [bob, "nobody-" + unique, alice],
            "teams": [ids["team"], "no-team"],
            "topics": [f"t{unique}.streams"],
        },
    }
    r = await api.share.post("/v1/shares", json=body, headers=api.auth(alice))
    assert r.status_code == 202, r.text
    share = r.json()
    assert share["status"] in ("accepted", "fanning_out", "delivered")
    assert share["unknown_users"] == ["nobody-" + unique] and share["unknown_teams"] == ["no-team"]
    assert r.headers["location"] == f"/v1/shares/{share['id']}"
    sid = share["id"]

    async def delivered():
        r = await api.share.get(f"/v1/shares/{sid}", headers=api.auth(alice))
        return r.json()["status"] == "delivered" and r.json()

    done = await eventually(delivered)
    assert done["audience_size"] == 3 and done["delivered"] == 3  # bob, carol (team), dave (topic)

    for user in (bob, carol, dave):

        async def has_notification(user=user):
            items = (await inbox(api, user))["items"]
            return [n for n in items if n["share_id"] == sid]

        [n] = await eventually(has_notification)
        assert n["kind"] == "share.delivered" and n["title"] == body["title"] and n["read_at"] is None
        assert alice in n["text"]
        assert set(n) >= {"id", "kind", "share_id", "title", "text", "created_at", "read_at"}
    assert (await inbox(api, alice))["items"] == []  # the author is not a recipient

    async def waiting(user):
        r = await api.learn.get("/v1/me/learning", headers=api.auth(user))
        assert r.status_code == 200
        return [i for i in r.json()["items"] if i["share_id"] == sid]

    [item] = await eventually(lambda: waiting(bob))
    assert item["title"] == body["title"] and item["author_id"] == alice

    ack = f"/v1/shares/{sid}/acknowledgements"
    # Digest windows are aligned to the clock (2 s here): start at the beginning of one, so that the
    # acknowledgements below fall into a single digest instead of straddling two.
    await asyncio.sleep(2 - time.time() % 2 + 0.05)
    assert (await api.learn.post(ack, json={"kind": "opened"}, headers=api.auth(bob))).status_code == 201
    assert (await api.learn.post(ack, json={"kind": "opened"}, headers=api.auth(bob))).status_code == 200
    assert (await api.learn.post(ack, json={"kind": "learned"}, headers=api.auth(bob))).status_code == 201
    assert (await api.learn.post(ack, json={"kind": "learned"}, headers=api.auth(bob))).status_code == 200
    assert (await api.learn.post(ack, json={"kind": "applied"}, headers=api.auth(carol))).status_code == 201
    assert (await api.learn.post(ack, json={"kind": "rated", "rating": 3}, headers=api.auth(carol))).status_code == 201
    assert (await api.learn.post(ack, json={"kind": "rated", "rating": 5}, headers=api.auth(carol))).status_code == 200
    assert (await api.learn.post(ack, json={"kind": "rated", "rating": 4}, headers=api.auth(bob))).status_code == 201
    q = {"kind": "question", "text": "Does this apply to faust too?"}
    assert (await api.learn.post(ack, json=q, headers=api.auth(dave))).status_code == 201
    assert (await api.learn.post(ack, json=q, headers=api.auth(dave))).status_code == 201  # each question kept

    r = await api.learn.get(f"/v1/shares/{sid}/feedback", headers=api.auth(alice))
    assert r.status_code == 200, r.text
    fb = r.json()
    assert (fb["recipients"], fb["opened"], fb["learned"], fb["applied"]) == (3, 1, 1, 1)
    assert fb["ratings"] == {"count": 2, "average": 4.5, "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}}
    assert [x["text"] for x in fb["questions"]] == [q["text"], q["text"]]
    assert fb["questions"][0]["from"] == dave and fb["questions"][0]["at"]

    # Learned/applied shares leave the learning list; opened/rated/question ones stay.
    assert await waiting(bob) == [] and await waiting(carol) == []
    assert len(await waiting(dave)) == 1

    def count(texts, what):
        return sum(int(m.group(1)) for t in texts for m in [re.search(rf"(\d+) {what}", t)] if m)

    def digests_of(items):
        return [n["text"] for n in items if "asked about" not in n["text"] and "first learner" not in n["text"]]

    async def author_feedback():
        items = [n for n in (await inbox(api, alice))["items"] if n["share_id"] == sid]
        assert all(n["kind"] == "feedback" for n in items)
        digests = digests_of(items)
        done = count(digests, "opened") and count(digests, "applied") and any("rating" in t for t in digests)
        return len(items) >= 4 and done and items

    # Two questions at once with their text, the first learner at once, the rest in digests: usually one
    # (the acknowledgements start at a window's beginning), but they may straddle windows on a slow run.
    items = await eventually(author_feedback, timeout=15)
    texts = [n["text"] for n in items]
    assert sum("asked about" in t and "Does this apply to faust too?" in t for t in texts) == 2
    assert sum("reached its first learner" in t and bob in t for t in texts) == 1
    digests = digests_of(items)
    assert (count(digests, "opened"), count(digests, "applied"), count(digests, "learned")) == (1, 1, 0), digests
    if len(digests) == 1:
        assert digests[0].endswith("1 opened, 1 applied, average rating 4.5"), digests
    question = next(n for n in items if "asked" in n["text"])
    assert dave in question["text"]

    # Reading a notification.
    r = await api.notify.post(f"/v1/notifications/{question['id']}/read", headers=api.auth(alice))
    assert r.status_code == 200 and r.json()["read_at"]
    unread = (await inbox(api, alice, unread="true"))["items"]
    assert question["id"] not in [n["id"] for n in unread]


async def test_idempotency_key_delivers_once(api, unique):
    ids = await directory(api, unique)
    body = {"title": "Retry me", "audience": {"users": [ids["bob"]]}}
    headers = {**api.auth(ids["alice"]), "Idempotency-Key": f"retry-{unique}"}
    first = await api.share.post("/v1/shares", json=body, headers=headers)
    second = await api.share.post("/v1/shares", json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    changed = await api.share.post("/v1/shares", json={**body, "title": "Other"}, headers=headers)
    assert changed.status_code == 422
    assert changed.headers["content-type"] == "application/problem+json"

    async def one():
        items = [n for n in (await inbox(api, ids["bob"]))["items"] if n["share_id"] == first.json()["id"]]
        return items

    assert len(await eventually(one)) == 1


async def test_publishing_on_behalf_of_an_author(api, unique):
    ids = await directory(api, unique)
    body = {"title": "From the wiki", "audience": {"users": [ids["bob"]]}, "author_id": ids["alice"]}
    r = await api.share.post("/v1/shares", json=body, headers=api.auth("wiki-bot", "shares:publish"))
    assert r.status_code == 202 and r.json()["author_id"] == ids["alice"]
    sid = r.json()["id"]
    assert (await api.share.get(f"/v1/shares/{sid}", headers=api.auth(ids["alice"]))).status_code == 200
    assert (await api.share.get(f"/v1/shares/{sid}", headers=api.auth("wiki-bot", "shares:publish"))).status_code == 200
    r = await api.share.post("/v1/shares", json=body, headers=api.auth(ids["carol"]))
    assert r.status_code == 403


async def test_subscriptions(api, unique):
    ids = await directory(api, unique)
    erin = ids["erin"]
    topic = f"t{unique}.python"
    r = await api.share.put(f"/v1/users/{erin}/subscriptions/{topic}", headers=api.auth(erin))
    assert r.status_code == 200 and topic in r.json()["topics"]
    assert (
        await api.share.put(f"/v1/users/{erin}/subscriptions/{topic}", headers=api.auth(ids["bob"]))
    ).status_code == 403
    assert (
        await api.share.put(f"/v1/users/{erin}/subscriptions/Bad Topic!", headers=api.auth(erin))
    ).status_code == 422
    r = await api.share.post(
        "/v1/shares", json={"title": "Py", "audience": {"topics": [topic]}}, headers=api.auth(ids["alice"])
    )
    sid = r.json()["id"]

    async def got():
        return [n for n in (await inbox(api, erin))["items"] if n["share_id"] == sid]

    assert len(await eventually(got)) == 1
    r = await api.share.delete(f"/v1/users/{erin}/subscriptions/{topic}", headers=api.auth(erin))
    assert r.status_code == 200 and topic not in r.json()["topics"]
