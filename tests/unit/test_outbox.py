"""The outbox right after a commit: published in order, marked sent together, refusals left to the relay."""

from __future__ import annotations

import asyncio
from typing import Any

from learnloop_shared.events import EventDeadLettered, make_event
from learnloop_shared.outbox import Outbox


class FakePublisher:
    """Acknowledges every message at once, except those whose key is refused."""

    def __init__(self, refused: frozenset[str] = frozenset()) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refused = refused

    async def enqueue_raw(self, topic: str, key: str, value: bytes, headers: Any) -> asyncio.Future[None]:
        await asyncio.sleep(0)  # a real producer may wait for metadata or buffer space
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if key in self.refused:
            fut.set_exception(RuntimeError("refused"))
        else:
            self.sent.append((topic, key))
            fut.set_result(None)
        return fut

    async def send_raw(self, topic: str, key: str, value: bytes, headers: Any) -> None:
        await (await self.enqueue_raw(topic, key, value, headers))


class FakeOutboxCollection:
    def __init__(self) -> None:
        self.marks: list[list[str]] = []

    async def update_many(self, query: dict[str, Any], update: dict[str, Any]) -> None:
        assert update["$set"]["sent"] is True and update["$set"]["sent_at"] is not None
        self.marks.append(list(query["_id"]["$in"]))


class FakeDatabase(dict[str, Any]):
    """Just what Outbox reads from a database: its collections and (unused here) its client."""

    client = None


def outbox(publisher: FakePublisher) -> tuple[Outbox, FakeOutboxCollection]:
    coll = FakeOutboxCollection()
    return Outbox(FakeDatabase(outbox=coll), publisher), coll  # type: ignore[arg-type]


def entries(key: str, n: int) -> list[dict[str, Any]]:
    data = EventDeadLettered(
        reason="r", consumer="c", topic="t", partition=0, offset=0, key_b64=None, value_b64="", headers={}
    )
    return [Outbox.entry("acks", key, make_event(data, source="/test", subject=key)) for _ in range(n)]


async def test_concurrent_flushes_are_published_in_order_and_marked_sent_together():
    publisher = FakePublisher()
    box, coll = outbox(publisher)
    batches = [entries(f"share-{i}", 3) for i in range(20)]
    assert all(await asyncio.gather(*(box.flush(b) for b in batches)))
    await box.close()
    for i in range(20):  # each flush's entries reach the broker in the order given
        assert [k for _, k in publisher.sent if k == f"share-{i}"] == [f"share-{i}"] * 3
    marked = [i for ids in coll.marks for i in ids]
    assert sorted(marked) == sorted(e["_id"] for b in batches for e in b)  # each marked once
    assert len(coll.marks) <= 2  # not one write per flush


async def test_an_entry_the_broker_refuses_stays_unmarked_for_the_relay():
    publisher = FakePublisher(refused=frozenset({"bad"}))
    box, coll = outbox(publisher)
    good, bad = entries("good", 2), entries("bad", 1)
    assert await box.flush(good) is True
    assert await box.flush([*bad, *entries("good", 1)]) is False
    await box.close()
    marked = {i for ids in coll.marks for i in ids}
    assert {e["_id"] for e in good} <= marked and bad[0]["_id"] not in marked
