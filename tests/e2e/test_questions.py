"""Questions get answers, and a recipient sees their own state of a share: through HTTP only (and the
acknowledgements topic, where notify reads ``learning.answered``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from learnloop_shared.events import LearningAnswered, decode

from ..helpers import eventually, read_all
from .conftest import Api

ACKS_TOPIC = "learnloop.acknowledgements"


@dataclass
class Thread:
    api: Api
    share: str
    alice: str  # the author
    bob: str  # a recipient, who asks
    carol: str  # another recipient
    dave: str  # not a recipient

    def as_(self, user: str) -> dict[str, str]:
        return self.api.auth(user)


@pytest.fixture(scope="module")
async def thread(stack) -> AsyncIterator[Thread]:
    api = Api(stack)
    u = uuid.uuid4().hex[:8]
    admin = api.auth("admin", "directory:write")
    alice, bob, carol, dave = (f"{n}-{u}" for n in ("alice", "bob", "carol", "dave"))
    for user in (alice, bob, carol, dave):
        assert (await api.share.put(f"/v1/users/{user}", json={"name": user}, headers=admin)).status_code == 200
    body = {"title": "Consumer lag", "audience": {"users": [bob, carol]}}
    r = await api.share.post("/v1/shares", json=body, headers=api.auth(alice))
    assert r.status_code == 202, r.text
    share = r.json()["id"]

    async def received(user: str) -> bool:
        r = await api.learn.get("/v1/me/learning", headers=api.auth(user))
        return any(i["share_id"] == share for i in r.json()["items"])

    for user in (bob, carol):
        await eventually(lambda user=user: received(user))
    yield Thread(api, share, alice, bob, carol, dave)
    await api.close()


async def ask(t: Thread, user: str, text: str, **extra) -> str:  # type: ignore[no-untyped-def]
    body = {"kind": "question", "text": text, **extra}
    r = await t.api.learn.post(f"/v1/shares/{t.share}/acknowledgements", json=body, headers=t.as_(user))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def questions(t: Thread, user: str, **params) -> list[dict]:  # type: ignore[no-untyped-def]
    r = await t.api.learn.get(f"/v1/shares/{t.share}/questions", params=params, headers=t.as_(user))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def answer(t: Thread, user: str, question: str, text: str) -> int:
    path = f"/v1/shares/{t.share}/questions/{question}/answers"
    r = await t.api.learn.post(path, json={"text": text}, headers=t.as_(user))
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"
    else:
        assert r.json()["from"] == user and r.json()["text"] == text and set(r.json()) == {"id", "text", "from", "at"}
    return r.status_code


async def test_public_questions_are_seen_by_every_recipient_private_ones_by_asker_and_author(thread: Thread):
    t = thread
    private = await ask(t, t.bob, "Private: is lag per partition?")
    public = await ask(t, t.bob, "Public: which metric?", public=True)
    carols = await ask(t, t.carol, "Carol's own, private", public=False)

    everything = await questions(t, t.alice)
    assert [q["id"] for q in everything] == [carols, public, private]  # newest first
    assert [q["public"] for q in everything] == [False, True, False]
    assert everything[2] == {
        "id": private,
        "text": "Private: is lag per partition?",
        "from": t.bob,
        "at": everything[2]["at"],
        "public": False,
        "answers": [],
        "answers_total": 0,
    }
    assert [q["id"] for q in await questions(t, t.bob)] == [public, private]
    assert [q["id"] for q in await questions(t, t.carol)] == [carols, public]
    r = await t.api.learn.get(f"/v1/shares/{t.share}/questions", headers=t.as_(t.dave))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"

    first = await questions(t, t.alice, limit=2)
    r = await t.api.learn.get(f"/v1/shares/{t.share}/questions", headers=t.as_(t.alice), params={"limit": 2})
    rest = await questions(t, t.alice, limit=2, cursor=r.json()["next_cursor"])
    assert [q["id"] for q in first + rest] == [carols, public, private]
    bad = await t.api.learn.get(f"/v1/shares/{t.share}/questions", headers=t.as_(t.alice), params={"cursor": "x"})
    assert bad.status_code == 422


async def test_who_may_answer_and_who_is_told(thread: Thread, stack):
    t = thread
    private = await ask(t, t.bob, "Private follow-up thread", public=False)
    public = await ask(t, t.bob, "Public thread", public=True)

    # A private question: its author answers, the asker follows up; another recipient and an outsider cannot.
    assert await answer(t, t.alice, private, "Yes, per partition") == 201
    assert await answer(t, t.bob, private, "Thanks! And per group?") == 201
    assert await answer(t, t.carol, private, "I should not") == 404
    assert await answer(t, t.dave, private, "Nor I") == 404
    # A public question: any recipient answers; an outsider still cannot.
    assert await answer(t, t.carol, public, "records-lag-max") == 201
    assert await answer(t, t.alice, public, "What carol said") == 201
    assert await answer(t, t.dave, public, "Not a recipient") == 404
    assert await answer(t, t.alice, "no-such-question", "?") == 404
    bad = f"/v1/shares/{t.share}/questions/{public}/answers"
    for body in ({}, {"text": ""}, {"text": "   "}, {"text": "x" * 5001}, {"text": "ok", "extra": 1}):
        assert (await t.api.learn.post(bad, json=body, headers=t.as_(t.alice))).status_code == 422

    by_id = {q["id"]: q for q in await questions(t, t.bob)}
    assert [(a["from"], a["text"]) for a in by_id[private]["answers"]] == [
        (t.alice, "Yes, per partition"),
        (t.bob, "Thanks! And per group?"),
    ]
    assert [a["from"] for a in by_id[public]["answers"]] == [t.carol, t.alice] and by_id[public]["answers_total"] == 2
    assert private not in {q["id"] for q in await questions(t, t.carol)}

    # learning.answered: everyone in the thread except the writer, each once.
    def answered(records):  # type: ignore[no-untyped-def]
        found = []
        for r in records:
            try:  # other tests may leave other messages on the topic
                data = decode(r.value, {LearningAnswered.event_type: LearningAnswered}).data
            except Exception:
                continue
            if data.share_id == t.share:
                found.append(data)
        return found

    async def four_answers():  # type: ignore[no-untyped-def]
        found = answered(await read_all(stack.infra, ACKS_TOPIC, quiet_ms=500))
        return found if len(found) >= 4 else None

    events = await eventually(four_answers, timeout=30)
    told = sorted((e.question_id, e.answered_by, e.notify) for e in events)
    assert told == sorted(
        [
            (private, t.alice, (t.bob,)),
            (private, t.bob, (t.alice,)),
            (public, t.carol, (t.bob, t.alice)),
            (public, t.alice, (t.bob, t.carol)),
        ]
    )
    assert all(e.title == "Consumer lag" and e.author_id == t.alice and e.asked_by == t.bob for e in events)


async def test_a_recipient_reads_their_own_state_of_each_share(thread: Thread):
    t = thread
    ack = f"/v1/shares/{t.share}/acknowledgements"
    for body in ({"kind": "opened"}, {"kind": "learned"}, {"kind": "rated", "rating": 5}):
        assert (await t.api.learn.post(ack, json=body, headers=t.as_(t.carol))).status_code == 201
    await ask(t, t.carol, "One more", public=True)

    params = [("share_id", t.share), ("share_id", "never-shared"), ("share_id", t.share)]
    r = await t.api.learn.get("/v1/me/learning/state", params=params, headers=t.as_(t.carol))
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["share_id"] == t.share and item["status"] == "completed" and item["requires"] == "learned"
    assert item["acknowledged"] == ["opened", "learned", "rated", "question"] and item["rating"] == 5
    asked = [q for q in await questions(t, t.carol, limit=100) if q["from"] == t.carol]
    assert item["questions_asked"] == len(asked) and item["completed_revisions"] == [1] and item["revision"] == 1
    assert item["due_at"] is None and "completed_at" in item

    r = await t.api.learn.get("/v1/me/learning/state", params={"share_id": t.share}, headers=t.as_(t.dave))
    assert r.status_code == 200 and r.json() == {"items": []}  # not a recipient: simply absent
    r = await t.api.learn.get("/v1/me/learning/state", params={"share_id": t.share}, headers=t.as_(t.alice))
    assert r.json() == {"items": []}  # the author did not receive it
    for bad in ([], [("share_id", f"s{i}") for i in range(101)], [("share_id", "a b")]):
        r = await t.api.learn.get("/v1/me/learning/state", params=bad, headers=t.as_(t.carol))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


async def test_answers_to_a_retracted_share_are_gone(thread: Thread):
    t = thread
    question = await ask(t, t.carol, "Before retraction", public=True)
    r = await t.api.share.delete(f"/v1/shares/{t.share}", headers=t.as_(t.alice))
    if r.status_code in (404, 405):
        pytest.skip("DELETE /v1/shares/{id} is not served by this build of the share service")
    assert r.status_code == 200, r.text

    async def gone() -> bool:
        return await answer(t, t.alice, question, "too late") == 410

    await eventually(gone)
    assert await answer(t, t.dave, question, "outsider") == 404  # still not told the share exists
    assert [q for q in await questions(t, t.carol) if q["id"] == question]  # the thread stays readable
