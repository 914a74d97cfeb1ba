"""Read CloudEvents from Kafka in either binding mode, with the CloudEvents SDK.

Other systems may publish in binary mode (``ce_*`` headers, data in the value) or structured mode
(``content-type: application/cloudevents+json``, the whole event in the value). Our own services
always write structured mode (see :mod:`.codec`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException, MissingRequiredAttributeError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import REQUIRED_ATTRIBUTES, CloudEvent

from .codec import UndecodableEvent, typed, upcast
from .envelope import Envelope, EventData, RawEnvelope

_FORMAT = JSONFormat()


def _strict_v1(attributes: dict[str, Any], data: Any) -> BaseCloudEvent:
    """The SDK's v1.0 event, built only from attributes the message really carries.

    Left to itself the SDK fills a missing ``id`` (a fresh UUID, which defeats deduplication on
    source + id) and a missing ``specversion`` (1.0), and builds a v0.3 event for ``specversion`` 0.3.
    Here every required attribute must be present; the SDK's ``CloudEvent`` then checks their values
    (non-empty strings, ``specversion`` exactly "1.0"). Used for both binding modes.
    """
    for name in REQUIRED_ATTRIBUTES:
        if name not in attributes:
            raise MissingRequiredAttributeError(attribute_name=name)
    return CloudEvent(attributes, data)


def decode_kafka(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]], accept: Mapping[str, type[EventData]]
) -> Envelope[Any]:
    hdrs = {k: v for k, v in headers if v is not None}
    if value is None:
        raise UndecodableEvent("empty message (tombstone)")
    try:
        event = ce_kafka.from_kafka(ce_kafka.KafkaMessage(headers=hdrs, key=None, value=value), _FORMAT, _strict_v1)
        attrs = event.get_attributes()
        data = event.get_data()
    except BaseCloudEventException as exc:
        raise UndecodableEvent(f"not a CloudEvent: {exc}") from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # e.g. JSON that is not an object
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
