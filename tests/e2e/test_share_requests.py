"""Share requests from other systems over Kafka, in both CloudEvents modes; audience preview."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from learnloop_shared.events import decode
from learnloop_shared.settings import Topics
from learnloop_shared.share_requests import send, share_request, to_kafka

from ..helpers import eventually, read_all
from .test_errors import assert_problem
from .test_loop import directory, inbox

TOPICS = Topics()


async def register(api, unique) -> str:
    source = f"urn:learnloop:test:wiki:{unique}"
    r = await api.share.put(
        f"/v1/publishers/wiki-{unique}",
        json={"name": "Wiki", "sources": [source]},
        headers=api.auth("platform-admin", "publishers:write"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["sources"] == [source]
    return source


async def shares_titled(api, author, title):
    r = await api.share.get("/v1/shares", headers=api.auth(author), params={"limit": 200})
    assert r.status_code == 200
    return [s for s in r.json()["items"] if s["title"] == title]


async def test_publisher_registration_rules(api, unique):
    admin = api.auth("platform-admin", "publishers:write")
    assert_problem(
        await api.share.put(
            f"/v1/publishers/p-{unique}", json={"name": "P", "sources": ["urn:x"]}, headers=api.auth("someone")
        ),
        403,
    )
    assert_problem(
        await api.share.put(f"/v1/publishers/p-{unique}", json={"name": "P", "sources": []}, headers=admin), 422
    )
    source = await register(api, unique)
    r = await api.share.put(f"/v1/publishers/other-{unique}", json={"name": "O", "sources": [source]}, headers=admin)
    assert_problem(r, 409)
    r = await api.share.get(f"/v1/publishers/wiki-{unique}", headers=admin)
    assert r.status_code == 200 and r.json()["name"] == "Wiki"


@pytest.mark.parametrize("mode", ["structured", "binary"])
async def test_share_request_in_each_mode_is_published_once(api, stack, unique, mode):
    ids = await directory(api, unique)
    source = await register(api, unique)
    title = f"From the wiki ({mode})"
    data = {
        "author_id": ids["alice"],
        "title": title,
        "url": "https://wiki.example.com/p/1",
        "audience": {"teams": [ids["team"]], "users": ["ghost-" + unique]},
    }
    event = share_request(source, data, event_id=str(uuid.uuid4()))
    await send(stack.infra.bootstrap, TOPICS.share_requests, event, mode)
    await send(stack.infra.bootstrap, TOPICS.share_requests, event, mode)  # the same event again

    [share] = await eventually(lambda: shares_titled(api, ids["alice"], title))
    assert share["unknown_users"] == ["ghost-" + unique]

    async def both_notified():
        got = []
        for user in (ids["bob"], ids["carol"]):
            got += [n for n in (await inbox(api, user))["items"] if n["share_id"] == share["id"]]
        return len(got) == 2 and got

    await eventually(both_notified)
    # A third copy, after the first was processed, still changes nothing.
    await send(stack.infra.bootstrap, TOPICS.share_requests, event, mode)
    marker = share_request(source, {**data, "title": f"marker {mode}"})
    await send(stack.infra.bootstrap, TOPICS.share_requests, marker, mode)
    await eventually(lambda: shares_titled(api, ids["alice"], f"marker {mode}"))
    assert len(await shares_titled(api, ids["alice"], title)) == 1
    assert len([n for n in (await inbox(api, ids["bob"]))["items"] if n["share_id"] == share["id"]]) == 1
    # Valid requests are handled, not also dead-lettered (the marker was processed after all of them).
    sent_ids = {event.get_attributes()["id"], marker.get_attributes()["id"]}
    assert [d for d in await share_request_dead_letters(stack) if _event_id(d) in sent_ids] == []


async def share_request_dead_letters(stack) -> list:
    """Every dead letter of a share request, read from the start of the dead-letter topic."""
    return [
        d
        for d in (decode(rec.value).data for rec in await read_all(stack.infra, TOPICS.dead_letters))
        if d.topic == TOPICS.share_requests
    ]


def _event_id(dead) -> str | None:
    """The CloudEvents id of a dead-lettered request, in either mode."""
    if "ce_id" in dead.headers:
        return dead.headers["ce_id"]
    try:
        return json.loads(base64.b64decode(dead.value_b64)).get("id")
    except ValueError:
        return None


async def send_raw(stack, value: bytes, headers: list[tuple[str, bytes]], key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.infra.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(TOPICS.share_requests, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def test_requests_missing_a_required_attribute_are_dead_lettered_not_shared(api, stack, unique):
    ids = await directory(api, unique)
    source = await register(api, unique)
    variants = {"no-id": "ce_id", "no-specversion": "ce_specversion", "specversion-0.3": None}
    for name, drop in variants.items():
        data = {"author_id": ids["alice"], "title": f"{name} {unique}", "audience": {"users": [ids["bob"]]}}
        value, headers = to_kafka(share_request(source, data), "binary")
        headers = [(k, b"0.3" if drop is None and k == "ce_specversion" else v) for k, v in headers if k != drop]
        for _ in range(2):  # twice: without an id, each copy used to become a share of its own
            await send_raw(stack, value, headers)
    ok = share_request(
        source, {"author_id": ids["alice"], "title": f"ok {unique}", "audience": {"users": [ids["bob"]]}}
    )
    await send(stack.infra.bootstrap, TOPICS.share_requests, ok, "binary")
    await eventually(lambda: shares_titled(api, ids["alice"], f"ok {unique}"))

    async def dead_lettered():
        found: dict[str, list[str]] = {}
        for d in await share_request_dead_letters(stack):
            raw = base64.b64decode(d.value_b64).decode("utf-8", "replace")
            for name in variants:
                if f"{name} {unique}" in raw:
                    found.setdefault(name, []).append(d.reason)
        return all(len(found.get(name, [])) == 2 for name in variants) and found

    reasons = await eventually(dead_lettered, timeout=20)
    assert all("'id'" in r for r in reasons["no-id"])
    assert all("'specversion'" in r for r in reasons["no-specversion"])
    assert all("must be '1.0'" in r for r in reasons["specversion-0.3"])
    for name in variants:
        assert await shares_titled(api, ids["alice"], f"{name} {unique}") == []


async def test_a_huge_garbage_value_is_dead_lettered_and_its_partition_goes_on(api, stack, unique):
    ids = await directory(api, unique)
    source = await register(api, unique)
    key = f"same-partition-{unique}".encode()
    huge = (unique.encode() * 100_000)[:1_000_000]
    await send_raw(stack, huge, [], key=key)
    ok = share_request(
        source, {"author_id": ids["alice"], "title": f"after {unique}", "audience": {"users": [ids["bob"]]}}
    )
    await send(stack.infra.bootstrap, TOPICS.share_requests, ok, "structured", key=key.decode())
    await eventually(lambda: shares_titled(api, ids["alice"], f"after {unique}"), timeout=30)

    digest = hashlib.sha256(huge).hexdigest()
    dead = await eventually(lambda: _with_digest(stack, digest))
    assert dead.truncated and dead.original_size == 1_000_000 and "truncated" in dead.reason
    assert huge.startswith(base64.b64decode(dead.value_b64))


async def _with_digest(stack, digest: str):
    return next((d for d in await share_request_dead_letters(stack) if d.sha256 == digest), None)


async def test_unknown_sources_and_invalid_requests_are_dead_lettered(api, stack, unique):
    ids = await directory(api, unique)
    source = await register(api, unique)
    bad = {
        "unregistered": share_request(
            f"urn:unknown:{unique}", {"author_id": ids["alice"], "title": "x", "audience": {"users": [ids["bob"]]}}
        ),
        "bad-topic": share_request(
            source, {"author_id": ids["alice"], "title": "x", "audience": {"topics": ["Not A Topic"]}}
        ),
        "no-audience": share_request(source, {"author_id": ids["alice"], "title": "x", "audience": {}}),
        "no-author": share_request(source, {"title": "x", "audience": {"users": [ids["bob"]]}}),
    }
    for i, ev in enumerate(bad.values()):
        await send(stack.infra.bootstrap, TOPICS.share_requests, ev, "binary" if i % 2 else "structured")
    ids_sent = {ev.get_attributes()["id"]: name for name, ev in bad.items()}

    async def dead_lettered():
        found = {}
        for rec in await read_all(stack.infra, TOPICS.dead_letters):
            d = decode(rec.value).data
            if d.topic != TOPICS.share_requests:
                continue
            raw = base64.b64decode(d.value_b64).decode()
            hdr_id = d.headers.get("ce_id")
            for event_id, name in ids_sent.items():
                if event_id in raw or hdr_id == event_id:
                    found[name] = d.reason
        return len(found) == len(bad) and found

    reasons = await eventually(dead_lettered, timeout=20)
    assert "not a registered publisher" in reasons["unregistered"]
    assert "topic" in reasons["bad-topic"]
    assert "audience" in reasons["no-audience"]
    assert "author_id" in reasons["no-author"]

    # Garbage is dead-lettered too, and the consumer keeps going.
    producer = AIOKafkaProducer(bootstrap_servers=stack.infra.bootstrap)
    await producer.start()
    await producer.send_and_wait(TOPICS.share_requests, b"\x00\x01 not an event")
    await producer.stop()
    ok = share_request(
        source, {"author_id": ids["alice"], "title": f"ok {unique}", "audience": {"users": [ids["bob"]]}}
    )
    await send(stack.infra.bootstrap, TOPICS.share_requests, ok, "binary")
    await eventually(lambda: shares_titled(api, ids["alice"], f"ok {unique}"))


async def test_preview_shows_audience_without_side_effects(api, unique):
    ids = await directory(api, unique)
    admin = api.auth("admin", "directory:write")
    # nested teams: outer ⊃ team (bob, carol); outer also has erin; dave subscribes to t<u>.streams
    r = await api.share.put(
        f"/v1/teams/outer-{unique}",
        json={"name": "Outer", "members": [ids["erin"], ids["bob"]], "teams": [ids["team"]]},
        headers=admin,
    )
    assert r.status_code == 200
    body = {
        "title": "Preview",
        "audience": {"teams": [f"outer-{unique}", "nope"], "topics": [f"t{unique}.*"], "users": [ids["alice"]]},
    }
    r = await api.share.post("/v1/shares/preview", json=body, headers=api.auth(ids["alice"]))
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["audience_size"] == 4  # bob, carol, erin (nested teams), dave (wildcard); not the author
    assert sorted(p["sample"]) == sorted([ids["bob"], ids["carol"], ids["dave"], ids["erin"]])
    assert p["unknown_teams"] == ["nope"]
    assert await shares_titled(api, ids["alice"], "Preview") == []
    # Topic-only audiences are counted straight from the directory.
    r = await api.share.post(
        "/v1/shares/preview",
        json={"title": "P", "audience": {"topics": [f"t{unique}.streams"]}},
        headers=api.auth(ids["alice"]),
    )
    assert r.json()["audience_size"] == 1 and r.json()["sample"] == [ids["dave"]]
    assert_problem(
        await api.share.post("/v1/shares/preview", json={"title": "P", "audience": {}}, headers=api.auth(ids["alice"])),
        422,
    )


async def test_a_share_request_for_an_unknown_team_leaves_the_authors_list_working(api, stack, unique):
    ids = await directory(api, unique)
    source = await register(api, unique)
    title = f"To a team that is gone {unique}"
    data = {"author_id": ids["alice"], "title": title, "audience": {"teams": [f"gone-{unique}"]}}
    await send(stack.infra.bootstrap, TOPICS.share_requests, share_request(source, data, str(uuid.uuid4())), "binary")

    [share] = await eventually(lambda: shares_titled(api, ids["alice"], title))
    assert share["unknown_teams"] == [f"gone-{unique}"] and share["audience"]["teams"] == []
    r = await api.share.get(f"/v1/shares/{share['id']}", headers=api.auth(ids["alice"]))
    assert r.status_code == 200, r.text
