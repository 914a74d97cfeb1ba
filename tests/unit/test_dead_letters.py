"""Dead letters always fit in one request; a dead letter that cannot be written never stops a consumer."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from learnloop_shared.events import ShareDelivered, encode
from learnloop_shared.kafka.consumers import BatchProcessor, ConsumerSpec, RawMessage
from learnloop_shared.kafka.dead_letters import HEADROOM_BYTES, DeadLetters

LIMIT = 64 * 1024


def dead_letters() -> DeadLetters:
    return DeadLetters(publisher=None, topic="dlq", source="/test", max_request_bytes=LIMIT)  # type: ignore[arg-type]


def build(value: bytes, key: bytes | None = b"k", headers: list[tuple[str, bytes]] | None = None):
    return dead_letters().build(
        consumer="c", topic="t", partition=1, offset=2, key=key, value=value, headers=headers or [], reason="not JSON"
    )


def test_a_value_that_fits_goes_whole():
    key, ev = build(b"abc")
    assert key == "k" and base64.b64decode(ev.data.value_b64) == b"abc" and not ev.data.truncated
    assert ev.data.original_size == 3 and ev.data.sha256 == hashlib.sha256(b"abc").hexdigest()
    assert ev.data.reason == "not JSON"


def test_a_value_too_large_is_cut_with_its_size_and_digest():
    value = bytes(range(256)) * 1000
    key, ev = build(value, headers=[("h", b"v")])
    assert len(encode(ev)) + len(key or "") <= LIMIT - HEADROOM_BYTES
    prefix = base64.b64decode(ev.data.value_b64)
    assert value.startswith(prefix) and len(prefix) > 40_000
    assert ev.data.truncated and ev.data.original_size == len(value)
    assert ev.data.sha256 == hashlib.sha256(value).hexdigest()
    assert "truncated" in ev.data.reason and ev.data.headers == {"h": "v"}


def test_a_key_and_headers_too_large_are_left_out():
    key, ev = build(b"v" * 100, key=b"k" * 50_000, headers=[("h", b"x" * 50_000)])
    assert key is None and ev.data.key_b64 is None and ev.data.headers == {}
    assert len(encode(ev)) <= LIMIT - HEADROOM_BYTES
    assert ev.data.truncated and "key and headers left out" in ev.data.reason


class FailingDeadLetters:
    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(kwargs)


def processor(dlq: FailingDeadLetters, handled: list[Any]) -> BatchProcessor:
    async def handle(batch: Any) -> None:
        handled.extend(batch)

    spec = ConsumerSpec(name="c", topic="t", handlers={ShareDelivered: handle})
    return BatchProcessor(spec, dlq, max_backoff_s=0.01)  # type: ignore[arg-type]


async def test_a_dead_letter_refused_for_good_is_skipped_and_the_batch_goes_on(caplog):
    dlq = FailingDeadLetters(MessageSizeTooLargeError())
    await processor(dlq, []).process([RawMessage("t", 3, 41, None, b"{bad", [])])
    assert dlq.sent == []
    assert any("could not dead-letter t/3@41" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


async def test_a_passing_broker_failure_is_retried():
    dlq = FailingDeadLetters(KafkaConnectionError(), KafkaConnectionError())
    await processor(dlq, []).process([RawMessage("t", 0, 1, None, b"{bad", [])])
    assert len(dlq.sent) == 1 and dlq.sent[0]["offset"] == 1
