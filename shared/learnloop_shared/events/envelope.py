"""The versioned event envelope: CloudEvents 1.0 attributes plus typed ``data``.

Every event on Kafka is a CloudEvent in structured JSON mode. ``type`` names the event and its
version (``io.learnloop.share.published.v1``); a breaking change gets a new type and an upcaster.
Consumers ignore unknown fields.

Every event we produce names the JSON Schema of its ``data`` in the CloudEvents ``dataschema`` attribute
(:func:`dataschema_for`); the schema is committed as ``docs/events/<type>.json`` with that URI as ``$id``.
Events from other systems may omit it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SPECVERSION = "1.0"
JSON = "application/json"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
# Base of the ``dataschema`` URIs: an identifier (the ``$id`` of docs/events/<type>.json), not fetched by consumers.
SCHEMA_BASE_URL = "https://learnloop.io/schemas/events/"


def dataschema_for(event_type: str) -> str:
    """The ``dataschema`` URI of an event type: ``SCHEMA_BASE_URL + <type> + ".json"``."""
    return f"{SCHEMA_BASE_URL}{event_type}.json"


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond (what MongoDB stores), so stored and returned times agree."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class EventData(BaseModel):
    """Base of every event payload: frozen, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Set by each subclass: the CloudEvents type it travels as.
    event_type: ClassVar[str]


D = TypeVar("D", bound=EventData)


class Envelope(BaseModel, Generic[D]):
    """A CloudEvent (structured mode) carrying one typed payload."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    specversion: str = SPECVERSION
    time: datetime = Field(default_factory=utcnow)
    subject: str | None = None
    datacontenttype: str = JSON
    dataschema: str | None = None
    schema_version: int = 1
    data: D


class RawEnvelope(BaseModel):
    """The envelope before the payload is typed: used to route by ``type``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    specversion: str
    time: datetime | None = None
    subject: str | None = None
    datacontenttype: str | None = JSON
    dataschema: str | None = None
    schema_version: int = 1
    data: Any = None


def new_event_id() -> str:
    return str(uuid.uuid4())


_STABLE_ID_PREFIX = hashlib.sha1(uuid.NAMESPACE_URL.bytes + b"learnloop:", usedforsecurity=False)


def stable_event_id(*parts: str) -> str:
    """A deterministic id, so that re-publishing the same fact yields the same event id.

    ``uuid5(NAMESPACE_URL, "learnloop:" + "/".join(parts))``, computed without building a ``UUID``
    object (notify makes one per notification; this is ~3x cheaper and gives the same string).
    """
    h = _STABLE_ID_PREFIX.copy()
    h.update("/".join(parts).encode())
    b = bytearray(h.digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = b.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def make_event(
    data: D,
    *,
    source: str,
    subject: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Envelope[D]:
    return Envelope[D](
        id=event_id or new_event_id(),
        source=source,
        type=data.event_type,
        subject=subject,
        time=time or utcnow(),
        dataschema=dataschema_for(data.event_type),
        data=data,
    )
