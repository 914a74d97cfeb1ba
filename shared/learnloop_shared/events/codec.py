"""Encode and decode events as CloudEvents structured JSON on Kafka.

Decoding never raises anything but :class:`UndecodableEvent`, whose message is the dead-letter reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import ValidationError

from .contracts import EVENT_TYPES
from .envelope import STRUCTURED_CONTENT_TYPE, Envelope, EventData, RawEnvelope

D = TypeVar("D", bound=EventData)


class UndecodableEvent(ValueError):
    """The bytes are not an event this consumer understands; the message says why."""


def encode(event: Envelope[Any]) -> bytes:
    return event.model_dump_json(exclude_none=True).encode()


def content_type_header() -> tuple[str, bytes]:
    return ("content-type", STRUCTURED_CONTENT_TYPE.encode())


def _short(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def decode_raw(value: bytes | None) -> RawEnvelope:
    if value is None:
        raise UndecodableEvent("empty message (tombstone)")
    try:
        doc = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise UndecodableEvent("not a CloudEvent: JSON value is not an object")
    try:
        raw = RawEnvelope.model_validate(doc)
    except ValidationError as exc:
        raise UndecodableEvent(f"not a CloudEvent: {_short(exc)}") from exc
    if raw.specversion != "1.0":
        raise UndecodableEvent(f"unsupported CloudEvents specversion {raw.specversion!r}")
    return raw


def upcast(raw: RawEnvelope) -> RawEnvelope:
    """Turn older event versions into the current ones. None exist yet: the hook is here."""
    return raw


@lru_cache(maxsize=64)
def _envelope_of(cls: type[EventData]) -> type[Envelope[Any]]:
    return Envelope[cls]  # type: ignore[valid-type]


def _fast(value: bytes, cls: type[EventData]) -> Envelope[Any] | None:
    """One pass of pydantic's JSON parser when the expected type is known; None if it isn't that."""
    try:
        event = _envelope_of(cls).model_validate_json(value)
    except ValidationError:
        return None
    return event if event.type == cls.event_type and event.specversion == "1.0" else None


_TYPE_KEY = b'"type":"'


def _type_hint(value: bytes) -> str | None:
    """The event type as our encoder writes it (compact JSON, near the start); None if not found there.
    Only a guess: :func:`_fast` checks the type it decodes."""
    start = value.find(_TYPE_KEY, 0, 400)
    if start < 0:
        return None
    start += len(_TYPE_KEY)
    end = value.find(b'"', start, start + 200)
    return value[start:end].decode("ascii", "replace") if end > 0 else None


def decode(value: bytes | None, accept: Mapping[str, type[EventData]] | None = None) -> Envelope[Any]:
    types = accept if accept is not None else EVENT_TYPES
    if value is not None:
        cls = next(iter(types.values())) if len(types) == 1 else types.get(_type_hint(value) or "")
        event = _fast(value, cls) if cls is not None else None
        if event is not None:
            return event
    # The general path, which also says precisely why a message is not acceptable.
    raw = upcast(decode_raw(value))
    cls = types.get(raw.type)
    if cls is None:
        raise UndecodableEvent(f"unknown event type {raw.type!r}")
    return typed(raw, cls)


def typed(raw: RawEnvelope, cls: type[D]) -> Envelope[D]:
    try:
        data = cls.model_validate(raw.data)
    except ValidationError as exc:
        raise UndecodableEvent(f"invalid {raw.type} data: {_short(exc)}") from exc
    return Envelope[cls](  # type: ignore[valid-type]
        id=raw.id,
        source=raw.source,
        type=raw.type,
        specversion=raw.specversion,
        time=raw.time,
        subject=raw.subject,
        datacontenttype=raw.datacontenttype or "application/json",
        dataschema=raw.dataschema,
        schema_version=raw.schema_version,
        data=data,
    )
