"""Read CloudEvents from Kafka in either binding mode, with the CloudEvents SDK.

Other systems may publish in binary mode (``ce_*`` headers, data in the value) or structured mode
(``content-type: application/cloudevents+json``, the whole event in the value). Our own services
always write structured mode (see :mod:`.codec`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat

from .codec import UndecodableEvent, typed, upcast
from .envelope import Envelope, EventData, RawEnvelope

_FORMAT = JSONFormat()


def decode_kafka(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]], accept: Mapping[str, type[EventData]]
) -> Envelope[Any]:
    hdrs = {k: v for k, v in headers if v is not None}
    if value is None:
        raise UndecodableEvent("empty message (tombstone)")
    try:
        event = ce_kafka.from_kafka(ce_kafka.KafkaMessage(headers=hdrs, key=None, value=value), _FORMAT)
        attrs = event.get_attributes()
        data = event.get_data()
    except BaseCloudEventException as exc:
        raise UndecodableEvent(f"not a CloudEvent: {exc}") from exc
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise UndecodableEvent(f"not a CloudEvent: {type(exc).__name__}: {exc}") from exc
    if isinstance(data, (bytes, str)):
        raise UndecodableEvent("data must be a JSON object (datacontenttype application/json)")
    raw = upcast(
        RawEnvelope.model_validate(
            {
                **{k: v for k, v in attrs.items() if k != "partitionkey"},
                "data": data,
            }
        )
    )
    cls = accept.get(raw.type)
    if cls is None:
        raise UndecodableEvent(f"unknown event type {raw.type!r}")
    return typed(raw, cls)
