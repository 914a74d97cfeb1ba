"""Replaying every topic from the start duplicates nothing; malformed events are dead-lettered."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from learnloop_shared.events import decode
from learnloop_shared.settings import Topics

from ..helpers import eventually, read_all
from .test_loop import directory, inbox

TOPICS = Topics()


async def share_ids_in_inbox(api, user):
    return [n["share_id"] for n in (await inbox(api, user, limit=200))["items"]]


async def test_replaying_all_topics_creates_no_duplicates(api, stack, unique):
    ids = await directory(api, unique)
    alice, bob, carol, dave = ids["alice"], ids["bob"], ids["carol"], ids["dave"]
    r = await api.share.post(
        "/v1/shares", json={"title": "Replay", "audience": {"users": [bob, carol, dave]}}, headers=api.auth(alice)
    )
    sid = r.json()["id"]
    await eventually(lambda: _has(api, bob, sid))
    ack = f"/v1/shares/{sid}/acknowledgements"
    await eventually(lambda: _ack_ok(api, ack, carol, {"kind": "learned"}))
    assert (await api.learn.post(ack, json={"kind": "rated", "rating": 4}, headers=api.auth(bob))).status_code == 201

    async def two_feedback():  # the first learner at once, the rating in a digest after the window
        return len([s for s in await share_ids_in_inbox(api, alice) if s == sid]) == 2

    await eventually(two_feedback)
    before = {u: await share_ids_in_inbox(api, u) for u in (alice, bob, carol)}
    share_before = (await api.share.get(f"/v1/shares/{sid}", headers=api.auth(alice))).json()
    feedback_before = (await api.learn.get(f"/v1/shares/{sid}/feedback", headers=api.auth(alice))).json()

    # Replay: produce every record of every topic again, same key, value and headers.
    producer = AIOKafkaProducer(bootstrap_servers=stack.infra.bootstrap)
    await producer.start()
    try:
        for topic in (TOPICS.shares, TOPICS.deliveries, TOPICS.acknowledgements):
            for rec in await read_all(stack.infra, topic):
                await producer.send(topic, rec.value, key=rec.key, headers=list(rec.headers))
        await producer.flush()
    finally:
        await producer.stop()

    # Markers behind the replayed records on the same partitions (same keys): once they are
    # processed, so is the replay.
    r = await api.share.post(
        "/v1/shares", json={"title": "Marker", "audience": {"users": [bob, carol]}}, headers=api.auth(alice)
    )
    marker = r.json()["id"]
    await eventually(lambda: _has(api, bob, marker))
    await eventually(lambda: _has(api, carol, marker))
    assert (
        await api.learn.post(ack, json={"kind": "question", "text": "marker?"}, headers=api.auth(dave))
    ).status_code == 201

    async def marker_question():
        return len([s for s in await share_ids_in_inbox(api, alice) if s == sid]) == 3

    await eventually(marker_question)

    after = {u: await share_ids_in_inbox(api, u) for u in (alice, bob, carol)}
    assert after[bob] == [marker, *before[bob]]
    assert after[carol] == [marker, *before[carol]]
    assert [s for s in after[alice] if s == sid] == [sid] * 3  # 2 before + the marker question
    share_after = (await api.share.get(f"/v1/shares/{sid}", headers=api.auth(alice))).json()
    assert share_after["delivered"] == share_before["delivered"] == 3
    feedback_after = (await api.learn.get(f"/v1/shares/{sid}/feedback", headers=api.auth(alice))).json()
    assert feedback_after["recipients"] == feedback_before["recipients"] == 3
    assert feedback_after["learned"] == feedback_before["learned"] == 1
    assert feedback_after["ratings"] == feedback_before["ratings"]


async def test_malformed_events_go_to_the_dead_letter_topic(api, stack, unique):
    producer = AIOKafkaProducer(bootstrap_servers=stack.infra.bootstrap)
    await producer.start()
    garbage = f"garbage-{unique}".encode()
    try:
        await producer.send_and_wait(TOPICS.deliveries, garbage, key=b"x")
        wrong = (
            b'{"id":"w-' + unique.encode() + b'","source":"/x","type":"io.learnloop.share.delivered.v1",'
            b'"specversion":"1.0","data":{"share_id":"s"}}'
        )
        await producer.send_and_wait(TOPICS.deliveries, wrong, key=b"x")
    finally:
        await producer.stop()

    async def dead_lettered():
        found = []
        for rec in await read_all(stack.infra, TOPICS.dead_letters):
            data = decode(rec.value).data
            if data.topic == TOPICS.deliveries and (
                garbage.decode() in _b64(data.value_b64) or f"w-{unique}" in _b64(data.value_b64)
            ):
                found.append(data)
        return len(found) == 4 and found  # two malformed records × two consumers (learn, notify)

    found = await eventually(dead_lettered, timeout=20)
    reasons = {d.reason.split(":")[0] for d in found}
    assert reasons == {"not JSON", "invalid io.learnloop.share.delivered.v1 data"}
    assert {d.consumer for d in found} == {"deliveries"}

    # The consumers keep going.
    ids = await directory(api, unique)
    r = await api.share.post(
        "/v1/shares", json={"title": "Still works", "audience": {"users": [ids["bob"]]}}, headers=api.auth(ids["alice"])
    )
    await eventually(lambda: _has(api, ids["bob"], r.json()["id"]))


def _b64(value: str) -> str:
    import base64

    return base64.b64decode(value).decode("utf-8", "replace")


async def _has(api, user, sid):
    return sid in await share_ids_in_inbox(api, user)


async def _ack_ok(api, path, user, body):
    r = await api.learn.post(path, json=body, headers=api.auth(user))
    return r.status_code == 201
