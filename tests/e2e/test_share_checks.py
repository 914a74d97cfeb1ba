"""Knowledge checks on the share service, over HTTP and Kafka: validation, who sees the answer key, and
what deliveries carry (``has_checks``, never the questions or answers)."""

from __future__ import annotations

import json
import uuid

import pytest
from learnloop_shared.events import SharePublished, decode
from learnloop_shared.settings import Topics
from learnloop_shared.share_requests import send, share_request

from ..helpers import eventually, read_all
from .test_errors import assert_problem
from .test_loop import directory
from .test_share_requests import register, shares_titled

TOPICS = Topics()
CHECKS = [
    {"question": "Which offset does a consumer commit?", "choices": ["the last read", "the next to read"], "answer": 1},
    {"question": "What orders messages?", "choices": ["the topic", "the partition", "the broker"], "answer": 1},
]


def _body(ids: dict[str, str], **kw: object) -> dict[str, object]:
    body: dict[str, object] = {"title": f"Offsets {uuid.uuid4().hex[:6]}", "audience": {"users": [ids["bob"]]}}
    body.update(kw)
    return body


def _has_answer_key(payload: object) -> bool:
    text = json.dumps(payload)
    return '"answer"' in text


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"checks": [{**CHECKS[0], "answer": 2}]}, "checks"),
        ({"checks": [{**CHECKS[0], "choices": ["one"], "answer": 0}]}, "choices"),
        ({"checks": [{**CHECKS[0], "choices": list("abcdefg"), "answer": 0}]}, "choices"),
        ({"checks": [CHECKS[0]] * 11}, "checks"),
        ({"checks": [{**CHECKS[0], "question": ""}]}, "question"),
        ({"checks": [{**CHECKS[0], "choices": ["a", ""]}]}, "checks"),
        ({"pass_mark": 0}, "pass_mark"),
        ({"pass_mark": 1.5}, "pass_mark"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 21}, "max_attempts"),
    ],
)
async def test_bad_check_values_are_422_naming_the_field(api, unique, kw, field):
    ids = await directory(api, unique)
    for path in ("/v1/shares", "/v1/shares/preview"):
        r = await api.share.post(path, json=_body(ids, **kw), headers=api.auth(ids["alice"]))
        assert_problem(r, 422)
        assert any(field in e["loc"] for e in r.json()["errors"]), r.json()


async def test_author_sees_answers_recipients_never_and_deliveries_say_has_checks(api, stack, unique):
    ids = await directory(api, unique)
    alice, bob = ids["alice"], ids["bob"]
    body = _body(ids, checks=CHECKS, pass_mark=0.5, max_attempts=2)
    r = await api.share.post("/v1/shares", json=body, headers=api.auth(alice))
    assert r.status_code == 202, r.text
    share = r.json()
    assert share["checks"] == CHECKS
    assert (share["pass_mark"], share["max_attempts"], share["has_checks"]) == (0.5, 2, True)
    sid = share["id"]

    async def delivered():
        r = await api.share.get(f"/v1/shares/{sid}", headers=api.auth(alice))
        return r.json()["status"] == "delivered" and r.json()

    got = await eventually(delivered)
    assert got["checks"] == CHECKS and got["has_checks"] is True
    listed = await shares_titled(api, alice, body["title"])
    assert listed[0]["checks"] == CHECKS
    publisher = await api.share.get(f"/v1/shares/{sid}", headers=api.auth("wiki-bot", "shares:publish"))
    assert publisher.status_code == 200 and publisher.json()["checks"] == CHECKS

    # A recipient (or anyone else) never gets the share, let alone its answers.
    r = await api.share.get(f"/v1/shares/{sid}", headers=api.auth(bob))
    assert_problem(r, 404)
    assert not _has_answer_key(r.json())

    # A revision cannot change the check (extra field → 422), and keeps it.
    r = await api.share.patch(f"/v1/shares/{sid}", json={"checks": []}, headers=api.auth(alice))
    assert_problem(r, 422)
    r = await api.share.patch(f"/v1/shares/{sid}", json={"title": "Offsets, revised"}, headers=api.auth(alice))
    assert r.status_code == 200 and r.json()["checks"] == CHECKS and r.json()["revision"] == 2

    def mine(records):
        return [decode(rec.value) for rec in records if rec.value and sid.encode() in rec.value]

    [delivery] = mine(await read_all(stack.infra, TOPICS.deliveries, quiet_ms=1000))
    assert delivery.data.recipient_id == bob and delivery.data.has_checks is True
    raw = json.loads(delivery.model_dump_json())
    assert not _has_answer_key(raw) and "checks" not in raw["data"] and CHECKS[0]["question"] not in json.dumps(raw)

    shares = mine(await read_all(stack.infra, TOPICS.shares, quiet_ms=1000))
    [published] = [e for e in shares if e.type == SharePublished.event_type]
    assert [c.model_dump() for c in published.data.checks] == [{**c, "choices": tuple(c["choices"])} for c in CHECKS]
    assert (published.data.pass_mark, published.data.max_attempts) == (0.5, 2)


async def test_a_share_without_checks_has_none(api, unique):
    ids = await directory(api, unique)
    r = await api.share.post("/v1/shares", json=_body(ids), headers=api.auth(ids["alice"]))
    assert r.status_code == 202, r.text
    share = r.json()
    assert (share["checks"], share["has_checks"], share["pass_mark"], share["max_attempts"]) == ([], False, 1.0, 3)


async def test_a_share_request_over_kafka_carries_its_check(api, stack, unique):
    ids = await directory(api, unique)
    source = await register(api, unique)
    title = f"Checked from the wiki {unique}"
    data = {
        "author_id": ids["alice"],
        "title": title,
        "audience": {"users": [ids["bob"]]},
        "checks": CHECKS,
        "pass_mark": 0.5,
        "max_attempts": 4,
    }
    await send(stack.infra.bootstrap, TOPICS.share_requests, share_request(source, data), "structured")
    [share] = await eventually(lambda: shares_titled(api, ids["alice"], title))
    assert share["checks"] == CHECKS
    assert (share["pass_mark"], share["max_attempts"], share["has_checks"]) == (0.5, 4, True)
