"""The batch processor in memory (the real-broker suites cover transport): events go to the handler of
their type, a passing failure is retried, a failing batch is bisected down to the events that fail, and
every dead letter says why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from learnloop_shared.events import ShareDelivered, SharePublished, encode, make_event
from learnloop_shared.events.contracts import Audience
from learnloop_shared.kafka.consumers import BatchProcessor, ConsumerSpec, RawMessage, Received, Rejected
from pymongo.errors import AutoReconnect

AT = datetime(2026, 1, 1, tzinfo=UTC)


class DeadLetters:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    def reasons(self) -> dict[int, str]:
        return {d["offset"]: d["reason"] for d in self.sent}


def delivered(n: int) -> RawMessage:
    data = ShareDelivered(share_id="s", recipient_id=f"u{n}", author_id="a", title="T", published_at=AT)
    return RawMessage("t", 0, n, None, encode(make_event(data, source="/test", event_id=f"e{n}")), [])


def published(n: int) -> RawMessage:
    data = SharePublished(share_id=f"s{n}", author_id="a", title="T", audience=Audience(users=("u",)), published_at=AT)
    return RawMessage("t", 0, n, None, encode(make_event(data, source="/test", event_id=f"e{n}")), [])


def processor(handlers: dict[Any, Any], dlq: DeadLetters) -> BatchProcessor:
    spec = ConsumerSpec(name="c", topic="t", handlers=handlers)
    return BatchProcessor(spec, dlq, max_backoff_s=0.001)  # type: ignore[arg-type]


async def test_each_event_type_goes_to_its_handler_in_one_call_per_type():
    calls: list[tuple[str, list[int]]] = []

    async def on_delivered(batch: list[Received]) -> None:
        calls.append(("delivered", [r.message.offset for r in batch]))

    async def on_published(batch: list[Received]) -> None:
        calls.append(("published", [r.message.offset for r in batch]))

    dlq = DeadLetters()
    p = processor({ShareDelivered: on_delivered, SharePublished: on_published}, dlq)
    await p.process([published(0), delivered(1), published(2), delivered(3)])
    assert calls == [("published", [0, 2]), ("delivered", [1, 3])]
    assert dlq.sent == []


async def test_a_passing_failure_is_retried_with_the_whole_batch():
    attempts: list[list[int]] = []

    async def handle(batch: list[Received]) -> None:
        attempts.append([r.message.offset for r in batch])
        if len(attempts) < 3:
            raise AutoReconnect("database restarting")

    dlq = DeadLetters()
    await processor({ShareDelivered: handle}, dlq).process([delivered(0), delivered(1)])
    assert attempts == [[0, 1]] * 3
    assert dlq.sent == []


async def test_a_failing_batch_is_bisected_to_the_event_that_fails():
    stored: list[int] = []

    async def handle(batch: list[Received]) -> None:
        if any(r.message.offset == 2 for r in batch):
            raise ValueError("a bug with this event")
        stored.extend(r.message.offset for r in batch)

    dlq = DeadLetters()
    await processor({ShareDelivered: handle}, dlq).process([delivered(n) for n in range(4)])
    assert sorted(stored) == [0, 1, 3]
    assert dlq.reasons() == {2: "handler error (see service logs)"}


async def test_dead_letter_reasons_name_what_was_wrong():
    async def handle(batch: list[Received]) -> list[Rejected]:
        return [Rejected(r, "not allowed") for r in batch if r.message.offset == 1]

    dlq = DeadLetters()
    undecodable = RawMessage("t", 0, 2, None, b"{not json", [])
    unknown = published(3)  # a type this consumer does not handle
    await processor({ShareDelivered: handle}, dlq).process([delivered(0), delivered(1), undecodable, unknown])
    reasons = dlq.reasons()
    assert reasons[1] == "not allowed"
    assert set(reasons) == {1, 2, 3}
    assert reasons[2].startswith("not JSON")
    assert reasons[3] == f"unknown event type {SharePublished.event_type!r}"
