"""Send what a consumer cannot process to the dead-letter topic, with the reason and the original bytes."""

from __future__ import annotations

import base64
import logging

from ..events import EventDeadLettered, make_event, stable_event_id
from .publisher import Publisher

log = logging.getLogger(__name__)


class DeadLetters:
    def __init__(self, publisher: Publisher, topic: str, source: str) -> None:
        self._publisher = publisher
        self._topic = topic
        self._source = source

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
        data = EventDeadLettered(
            reason=reason,
            consumer=consumer,
            topic=topic,
            partition=partition,
            offset=offset,
            key_b64=base64.b64encode(key).decode() if key is not None else None,
            value_b64=base64.b64encode(value or b"").decode(),
            headers={k: v.decode("utf-8", "replace") for k, v in headers if v is not None},
        )
        # Same (consumer, topic, partition, offset) → same id: a replay does not double-count.
        event = make_event(
            data,
            source=self._source,
            subject=f"{topic}/{partition}/{offset}",
            event_id=stable_event_id("dlq", consumer, topic, str(partition), str(offset)),
        )
        log.warning(
            "dead-lettered a message",
            extra={"consumer": consumer, "topic": topic, "partition": partition, "offset": offset, "reason": reason},
        )
        await self._publisher.publish(self._topic, key.decode("utf-8", "replace") if key else None, event)
