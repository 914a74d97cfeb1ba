"""Build and send share requests the way another system would: a CloudEvent on
``learnloop.share-requests``, in binary or structured Kafka mode, with the CloudEvents SDK.

``learnloop publish`` uses this; it doubles as an example for integrators.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from .events.contracts import ShareRequested
from .events.envelope import dataschema_for, utcnow

Mode = Literal["binary", "structured"]


def share_request(
    source: str, data: dict[str, Any], event_id: str | None = None, subject: str | None = None
) -> CloudEvent:
    attributes: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": ShareRequested.event_type,
        "specversion": "1.0",
        "time": utcnow(),
        "datacontenttype": "application/json",
        "dataschema": dataschema_for(ShareRequested.event_type),
    }
    if subject:
        attributes["subject"] = subject
    return CloudEvent(attributes=attributes, data=data)


def to_kafka(event: CloudEvent, mode: Mode) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The Kafka value and headers for ``event`` in the given binding mode."""
    fmt = JSONFormat()
    msg = ce_kafka.to_binary(event, fmt) if mode == "binary" else ce_kafka.to_structured(event, fmt)
    return bytes(msg.value or b""), [(k, bytes(v)) for k, v in msg.headers.items()]


async def send(bootstrap: str, topic: str, event: CloudEvent, mode: Mode, key: str | None = None) -> None:
    value, headers = to_kafka(event, mode)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode() if key else None, headers=headers)
    finally:
        await producer.stop()
