"""Knowledge checks in learn, over HTTP (and the acknowledgements topic, where each attempt is an event):
who sees the questions and the answer key, attempts and their limits, a pass recording ``learned``, the
author's feedback and the recipient's state."""

from __future__ import annotations

import json

from learnloop_shared.events import LearningAcknowledged, LearningChecked, decode

from ..helpers import eventually, read_all
from .test_errors import assert_problem
from .test_follow_through import ack, feedback, people, publish

ACKS_TOPIC = "learnloop.acknowledgements"
CHECKS = [
    {"question": "Which offset does a consumer commit?", "choices": ["the last read", "the next to read"], "answer": 1},
    {"question": "What orders messages?", "choices": ["the topic", "the partition", "the broker"], "answer": 1},
]
RIGHT, HALF, WRONG = [1, 1], [1, 0], [0, 0]


async def checks(api, sid: str, user: str):  # type: ignore[no-untyped-def]
    return await api.learn.get(f"/v1/shares/{sid}/checks", headers=api.auth(user))


async def attempt(api, sid: str, user: str, answers: object):  # type: ignore[no-untyped-def]
    return await api.learn.post(f"/v1/shares/{sid}/checks/attempts", json={"answers": answers}, headers=api.auth(user))


async def ready(api, sid: str, user: str) -> dict:
    """The check as ``user`` sees it, once learn knows its questions (a delivery may come first)."""

    async def known():
        r = await checks(api, sid, user)
        return r.status_code == 200 and r.json()

    return await eventually(known)


async def state(api, sid: str, user: str) -> dict:
    r = await api.learn.get("/v1/me/learning/state", params={"share_id": sid}, headers=api.auth(user))
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    return item


def has_answer_key(payload: object) -> bool:
    return '"answer"' in json.dumps(payload)


async def test_recipients_take_the_check_and_a_pass_records_learned(api, stack, unique):
    ids = await people(api, unique, "ann", "bob", "cat", "dan")
    ann, bob, cat, dan = ids["ann"], ids["bob"], ids["cat"], ids["dan"]
    sid = await publish(api, ann, [bob, cat], checks=CHECKS, pass_mark=1.0, max_attempts=2)

    # The questions: recipients without the answer key, the author with it, anyone else 404.
    seen = await ready(api, sid, bob)
    assert seen == {
        "items": [{"index": i, "question": c["question"], "choices": c["choices"]} for i, c in enumerate(CHECKS)],
        "pass_mark": 1.0,
        "max_attempts": 2,
        "attempts_used": 0,
        "passed": False,
    }
    assert not has_answer_key(seen)
    authors = await ready(api, sid, ann)
    assert [i["answer"] for i in authors["items"]] == [1, 1] and authors["attempts_used"] == 0
    assert_problem(await checks(api, sid, dan), 404)
    for outsider in (ann, dan):  # the author is not a recipient: no attempts
        assert_problem(await attempt(api, sid, outsider, RIGHT), 404)

    # learned waits for a pass; the other kinds do not.
    r = await ack(api, sid, bob, "learned")
    assert_problem(r, 409)
    assert "knowledge check" in r.json()["detail"]
    assert (await ack(api, sid, bob, "opened")).status_code == 201

    # Answers that do not fit the check are 422 and use no attempt.
    for bad in ([1], [1, 1, 1], [1, 3], [2, 0], [-1, 0]):
        assert_problem(await attempt(api, sid, bob, bad), 422)
    assert_problem(await attempt(api, sid, bob, "no"), 422)
    assert (await checks(api, sid, bob)).json()["attempts_used"] == 0

    r = await attempt(api, sid, bob, HALF)
    assert r.status_code == 201, r.text
    assert r.json() == {"attempt": 1, "score": 0.5, "passed": False, "correct": [True, False]}
    assert_problem(await ack(api, sid, bob, "learned"), 409)
    r = await attempt(api, sid, bob, RIGHT)
    assert r.status_code == 201 and r.json() == {"attempt": 2, "score": 1.0, "passed": True, "correct": [True, True]}
    r = await attempt(api, sid, bob, RIGHT)
    assert_problem(r, 409)
    assert "passed" in r.json()["detail"]
    r = await ack(api, sid, bob, "learned")  # the pass recorded it
    assert r.status_code == 200 and r.json()["outcome"] == "repeated"

    # cat uses both attempts without passing; a third is 409.
    for answers in (WRONG, HALF):
        assert (await attempt(api, sid, cat, answers)).status_code == 201
    r = await attempt(api, sid, cat, RIGHT)
    assert_problem(r, 409)
    assert "no attempts left" in r.json()["detail"]
    mine = await checks(api, sid, cat)
    assert (mine.json()["attempts_used"], mine.json()["passed"]) == (2, False)

    # Ratings for the distribution.
    assert (await ack(api, sid, bob, "rated", rating=5)).status_code == 201
    assert (await ack(api, sid, cat, "rated", rating=3)).status_code == 201

    fb = await feedback(api, sid, ann)
    assert (fb["learned"], fb["completed"], fb["pending"]) == (1, 1, 1)
    assert fb["checks"] == {
        "attempted": 2,
        "passed": 1,
        "pass_rate": 0.5,
        "average_attempts": 2.0,
        "questions": [
            {"index": 0, "question": CHECKS[0]["question"], "correct_rate": 1.0},
            {"index": 1, "question": CHECKS[1]["question"], "correct_rate": 0.5},
        ],
    }
    assert fb["ratings"]["distribution"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}

    bobs, cats = await state(api, sid, bob), await state(api, sid, cat)
    assert bobs["status"] == "completed" and "learned" in bobs["acknowledged"]
    assert bobs["checks"] == {"questions": 2, "max_attempts": 2, "attempts_used": 2, "passed": True, "best_score": 1.0}
    assert cats["status"] == "pending"
    assert cats["checks"] == {"questions": 2, "max_attempts": 2, "attempts_used": 2, "passed": False, "best_score": 0.5}
    assert not has_answer_key([bobs, cats])

    # Each attempt is a learning.checked event (keyed by the share), the pass one learned acknowledgement.
    types = {LearningChecked.event_type: LearningChecked, LearningAcknowledged.event_type: LearningAcknowledged}

    async def events():
        records = [r for r in await read_all(stack.infra, ACKS_TOPIC, quiet_ms=1000) if r.key == sid.encode()]
        decoded = [decode(r.value, types).data for r in records if LearningChecked.event_type.encode() in r.value]
        learned = [
            decode(r.value, types).data
            for r in records
            if LearningAcknowledged.event_type.encode() in r.value and b'"learned"' in r.value
        ]
        return len(decoded) == 4 and (decoded, learned)

    checked, learned = await eventually(events)
    assert sorted((e.recipient_id, e.attempt, e.score, e.passed) for e in checked) == [
        (bob, 1, 0.5, False),
        (bob, 2, 1.0, True),
        (cat, 1, 0.0, False),
        (cat, 2, 0.5, False),
    ]
    assert [(e.recipient_id, e.completed) for e in learned] == [(bob, True)]
    assert all(e.author_id == ann and e.title == "Tuning Kafka" for e in checked)


async def test_a_share_without_a_check_has_none_and_a_retracted_one_takes_no_attempts(api, unique):
    ids = await people(api, unique, "ann", "bob")
    ann, bob = ids["ann"], ids["bob"]
    plain = await publish(api, ann, [bob])
    r = await checks(api, plain, bob)
    assert_problem(r, 404)
    assert "no knowledge check" in r.json()["detail"]
    assert_problem(await attempt(api, plain, bob, RIGHT), 404)
    assert (await state(api, plain, bob))["checks"] is None
    assert (await feedback(api, plain, ann))["checks"] is None
    assert (await ack(api, plain, bob, "learned")).status_code == 201  # no check: learned as before

    checked = await publish(api, ann, [bob], checks=CHECKS[:1], pass_mark=1.0, max_attempts=1)
    await ready(api, checked, bob)
    r = await api.share.delete(f"/v1/shares/{checked}", headers=api.auth(ann))
    assert r.status_code == 200, r.text

    async def retracted():  # an answer that is not a choice: 422 (no attempt used) until learn sees it
        return (await attempt(api, checked, bob, [9])).status_code == 410

    await eventually(retracted)
    assert_problem(await attempt(api, checked, bob, [1]), 410)
    assert (await checks(api, checked, bob)).json()["attempts_used"] == 0  # still readable, nothing used
