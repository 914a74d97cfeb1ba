"""Batch consumers (faust agent, and the aiokafka bulk consumer) on the real broker: idempotent handling,
dead letters, keeps going."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from learnloop_shared.events import EventDeadLettered, ShareDelivered, decode, encode, make_event
from learnloop_shared.kafka.consumers import ConsumerSpec
from learnloop_shared.kafka.dead_letters import DeadLetters
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.kafka.runner import ConsumerRunner
from learnloop_shared.mongo import insert_many_new
from learnloop_shared.settings import ServiceSettings

from ..helpers import eventually, local_settings, read_all


def delivery(n: int):
    return make_event(
        ShareDelivered(share_id="s", recipient_id=f"user{n}", author_id="a", title="T", published_at=datetime.now(UTC)),
        source="/test",
        event_id=f"evt-{n}",
    )


@pytest.mark.parametrize("bulk", [False, True], ids=["faust", "bulk"])
async def test_bad_messages_go_to_dead_letters_and_good_ones_are_stored_once(infra, mongo, make_topics, unique, bulk):
    topic, dlq = f"in-{unique}", f"dlq-{unique}"
    await make_topics(topic, dlq)
    coll = mongo[f"t_{unique}"]["seen"]

    async def handle(batch):
        await insert_many_new(coll, [{"_id": r.event.id, "user": r.event.data.recipient_id} for r in batch])

    settings = local_settings(ServiceSettings, infra, service_name=f"test-{unique}", data_dir=infra_tmp(unique))
    publisher = Publisher(settings)
    await publisher.start()
    spec = ConsumerSpec(name="test", topic=topic, handlers={ShareDelivered: handle}, bulk=bulk)
    worker = ConsumerRunner(settings, [spec], DeadLetters(publisher, dlq, "/test"))
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        await worker.start()
        await producer.send_and_wait(topic, encode(delivery(1)), key=b"k")
        await producer.send_and_wait(topic, b"{not json", key=b"bad", headers=[("x-origin", b"test")])
        await producer.send_and_wait(topic, encode(delivery(1)), key=b"k")  # a redelivery
        unknown = {"id": "u1", "source": "/x", "type": "io.example.other.v1", "specversion": "1.0", "data": {}}
        await producer.send_and_wait(topic, json.dumps(unknown).encode(), key=b"k")
        await producer.send_and_wait(topic, encode(delivery(2)), key=b"k")

        async def stored():
            return await coll.count_documents({}) == 2

        await eventually(stored)
        records = await read_all(infra, dlq, expect=2)
        reasons = sorted(decode(r.value).data.reason for r in records)
        assert len(records) == 2
        assert reasons[0].startswith("not JSON")
        assert reasons[1] == "unknown event type 'io.example.other.v1'"
        bad = next(decode(r.value).data for r in records if decode(r.value).data.reason.startswith("not JSON"))
        assert isinstance(bad, EventDeadLettered)
        assert base64.b64decode(bad.value_b64) == b"{not json"
        assert bad.topic == topic and bad.consumer == "test" and bad.headers["x-origin"] == "test"
        assert sorted(d["user"] for d in await coll.find().to_list()) == ["user1", "user2"]
    finally:
        await worker.stop()
        await producer.stop()
        await publisher.stop()


def infra_tmp(unique: str):
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix=f"faust-{unique}-"))


@pytest.mark.parametrize("bulk", [False, True], ids=["faust", "bulk"])
async def test_a_value_too_large_to_dead_letter_whole_is_cut_and_the_partition_goes_on(
    infra, mongo, make_topics, unique, bulk
):
    """A 1,000,000-byte value plus the dead letter's envelope exceeds the producer's request size: the dead
    letter carries a prefix, the size and the SHA-256, and the next event on the partition is stored."""
    topic, dlq = f"in-{unique}", f"dlq-{unique}"
    await make_topics(topic, dlq)
    coll = mongo[f"t_{unique}"]["seen"]

    async def handle(batch):
        await insert_many_new(coll, [{"_id": r.event.id, "user": r.event.data.recipient_id} for r in batch])

    settings = local_settings(ServiceSettings, infra, service_name=f"test-{unique}", data_dir=infra_tmp(unique))
    publisher = Publisher(settings)
    await publisher.start()
    spec = ConsumerSpec(name="test", topic=topic, handlers={ShareDelivered: handle}, bulk=bulk)
    worker = ConsumerRunner(settings, [spec], DeadLetters(publisher, dlq, "/test"))
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    huge = b"x" * 999_000 + bytes(range(256)) * 3 + b"y" * 232
    assert len(huge) == 1_000_000
    try:
        await worker.start()
        await producer.send_and_wait(topic, huge, key=b"k")
        await producer.send_and_wait(topic, encode(delivery(7)), key=b"k")

        async def stored():
            return await coll.count_documents({}) == 1

        await eventually(stored)
        [record] = await read_all(infra, dlq, expect=1)
        dead = decode(record.value).data
        assert len(record.value) < settings.kafka_max_request_bytes
        assert dead.truncated and dead.original_size == 1_000_000
        assert dead.sha256 == hashlib.sha256(huge).hexdigest()
        assert "truncated" in dead.reason and dead.reason.startswith("not JSON")
        prefix = base64.b64decode(dead.value_b64)
        assert 700_000 < len(prefix) < 1_000_000 and huge.startswith(prefix)
        assert [d["user"] for d in await coll.find().to_list()] == ["user7"]
    finally:
        await worker.stop()
        await producer.stop()
        await publisher.stop()


@pytest.mark.parametrize("bulk", [False, True], ids=["faust", "bulk"])
async def test_a_handler_that_keeps_failing_makes_readyz_name_the_stalled_partition(
    infra, mongo, make_topics, unique, bulk, caplog
):
    from types import SimpleNamespace

    import httpx
    from learnloop_shared.runtime import ServiceDefinition, create_app
    from pymongo.errors import AutoReconnect

    topic, dlq = f"in-{unique}", f"dlq-{unique}"
    await make_topics(topic, dlq)
    failing = True
    handled: list[str] = []

    async def handle(batch):
        if failing:
            raise AutoReconnect("database unreachable (simulated)")
        handled.extend(r.event.id for r in batch)

    settings = local_settings(
        ServiceSettings,
        infra,
        service_name=f"test-{unique}",
        data_dir=infra_tmp(unique),
        role="worker",
        consumer_stall_s=1.5,
        shutdown_consumer_timeout_s=2,
    )
    publisher = Publisher(settings)
    await publisher.start()
    spec = ConsumerSpec(name="test", topic=topic, handlers={ShareDelivered: handle}, bulk=bulk)
    worker = ConsumerRunner(settings, [spec], DeadLetters(publisher, dlq, "/test"))
    defn = ServiceDefinition(name="test", title="t", settings_cls=ServiceSettings, routers=[], build_deps=None)
    app = create_app(defn, settings)
    app.state.runtime = SimpleNamespace(settings=settings, mongo=mongo, publisher=publisher, consumers=worker)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        await worker.start()
        assert (await client.get("/readyz")).status_code == 200  # idle: not stalled
        await producer.send_and_wait(topic, encode(delivery(1)), key=b"k")

        async def stalled():
            r = await client.get("/readyz")
            return r.status_code == 503 and r.json()

        body = await eventually(stalled)
        assert body["checks"]["progress"] is False and body["checks"]["consumers"] is True
        [stall] = body["stalled"]
        assert stall["topic"] == topic and isinstance(stall["partition"], int)
        assert (await client.get("/healthz")).status_code == 200  # stalled is not dead

        async def logged():
            return [r for r in caplog.records if r.getMessage().startswith(f"consumer stalled: {topic} partition")]

        await eventually(logged)

        failing = False

        async def recovered():
            return handled and (await client.get("/readyz")).status_code == 200

        await eventually(recovered)
    finally:
        await client.aclose()
        await worker.stop()
        await producer.stop()
        await publisher.stop()


@pytest.mark.parametrize("bulk", [False, True], ids=["faust", "bulk"])
async def test_a_consumer_out_of_its_group_too_long_is_made_to_rejoin(infra, make_topics, unique, bulk, caplog):
    topic, dlq = f"in-{unique}", f"dlq-{unique}"
    await make_topics(topic, dlq)

    async def handle(batch):
        return None

    settings = local_settings(
        ServiceSettings, infra, service_name=f"test-{unique}", data_dir=infra_tmp(unique), consumer_rejoin_timeout_s=1
    )
    publisher = Publisher(settings)
    await publisher.start()
    spec = ConsumerSpec(name="test", topic=topic, handlers={ShareDelivered: handle}, bulk=bulk)
    worker = ConsumerRunner(settings, [spec], DeadLetters(publisher, dlq, "/test"))
    try:
        await worker.start()
        membership = worker.bulk[0].membership if bulk else worker.membership
        assert membership.out_for() == 0 and worker.alive
        membership.left()  # as if its partitions were revoked and never assigned again

        async def asked():
            return [r for r in caplog.records if "asking to rejoin" in r.getMessage()]

        await eventually(asked)

        async def rejoined():
            return membership.out_for() == 0 and not membership.rejoin_requested

        await eventually(rejoined)
        assert worker.alive
    finally:
        await worker.stop()
        await publisher.stop()
