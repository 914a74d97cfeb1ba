"""Send what a consumer cannot process to the dead-letter topic, with the reason and the original bytes.

Invariant: a dead letter always fits in one produce request. The original value goes in whole (base64)
when it fits; otherwise only its first bytes do, with its size and SHA-256, and the reason says so.
Whether writing still fails for good is the caller's to decide with :func:`is_permanent`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnsupportedVersionError,
)

from ..events import EventDeadLettered, make_event, stable_event_id
from ..events.codec import encode
from ..events.envelope import Envelope
from .publisher import Publisher

log = logging.getLogger(__name__)

# Kept free of the request size for what the publisher adds to the record (content-type and W3C trace
# context headers, a few hundred bytes) and for the record and batch framing around it.
HEADROOM_BYTES = 4096
MAX_REASON_CHARS = 2000
# Dead letters are keyed by the original key; a longer one is left out rather than cut (it partitions).
MAX_KEY_BYTES = 1024

# Errors that writing the same dead letter again cannot cure. Every other KafkaError (timeouts,
# connections, leaders moving) passes.
_PERMANENT_KAFKA_ERRORS: tuple[type[KafkaError], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTopicError,
    TopicAuthorizationFailedError,
    UnsupportedVersionError,
)


def is_permanent(exc: BaseException) -> bool:
    """True when retrying the same dead letter would fail the same way."""
    return isinstance(exc, _PERMANENT_KAFKA_ERRORS) or not isinstance(exc, KafkaError)


class DeadLetters:
    def __init__(self, publisher: Publisher, topic: str, source: str, max_request_bytes: int | None = None) -> None:
        self._publisher = publisher
        self._topic = topic
        self._source = source
        limit = max_request_bytes if max_request_bytes is not None else publisher.max_request_bytes
        self._budget = limit - HEADROOM_BYTES

    def build(
        self,
        *,
        consumer: str,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        reason: str,
    ) -> tuple[str | None, Envelope[EventDeadLettered]]:
        """The dead letter's Kafka key and event, cut to fit the request size (see the module's invariant)."""
        original = value or b""
        digest = hashlib.sha256(original).hexdigest()
        reason = reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS] + "…"
        fields: dict[str, Any] = {
            "reason": reason,
            "consumer": consumer,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key_b64": base64.b64encode(key).decode() if key is not None else None,
            "value_b64": base64.b64encode(original).decode(),
            "headers": {k: v.decode("utf-8", "replace") for k, v in headers if v is not None},
            "original_size": len(original),
            "sha256": digest,
        }
        kafka_key = key.decode("utf-8", "replace") if key and len(key) <= MAX_KEY_BYTES else None

        def event(**changes: Any) -> Envelope[EventDeadLettered]:
            return make_event(
                EventDeadLettered(**{**fields, **changes}),
                source=self._source,
                subject=f"{topic}/{partition}/{offset}",
                # Same (consumer, topic, partition, offset) → same id: a replay does not double-count.
                event_id=stable_event_id("dlq", consumer, topic, str(partition), str(offset)),
            )

        def size(ev: Envelope[EventDeadLettered]) -> int:
            return len(encode(ev)) + len((kafka_key or "").encode())

        whole = event()
        if size(whole) <= self._budget:
            return kafka_key, whole
        fields["truncated"] = True
        fields["reason"] = (
            f"{reason} [dead letter truncated: the original value ({len(original)} bytes, sha256 {digest}) "
            "does not fit in one request; value_b64 holds its first bytes]"
        )
        fields["value_b64"] = ""
        if size(event()) > self._budget:  # the key or headers alone are too large
            fields.update(key_b64=None, headers={}, reason=fields["reason"] + " [original key and headers left out]")
            kafka_key = None
        room = self._budget - size(event())
        fields["value_b64"] = base64.b64encode(original[: max(0, room) // 4 * 3]).decode()
        return kafka_key, event()

    async def send(
        self,
        *,
        consumer: str,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        reason: str,
    ) -> None:
        kafka_key, event = self.build(
            consumer=consumer,
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            value=value,
            headers=headers,
            reason=reason,
        )
        log.warning(
            "dead-lettered a message",
            extra={
                "consumer": consumer,
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "reason": reason,
                "truncated": event.data.truncated,
            },
        )
        await self._publisher.publish(self._topic, kafka_key, event)
