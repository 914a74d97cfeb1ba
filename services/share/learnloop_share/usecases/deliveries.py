"""Encoding ``share.delivered`` events fast: one share, many recipients.

Each delivery carries the share as it is when the batch is sent: its current title, ``requires``, ``due_at``
and ``revision`` (a fan-out re-reads them as it goes, see :mod:`.fanout`). Of a knowledge check it carries
only ``has_checks``: deliveries reach recipients, the answer key must not.

The event is serialized once per batch with placeholders for the two values that differ per
recipient (event id and recipient id); each recipient's event is then three string joins instead of
building and serializing pydantic models. The result is byte-for-byte what the contract's own encoder
produces for the same event (asserted in the unit tests).
"""

from __future__ import annotations

import json
from datetime import datetime

from learnloop_shared.documents import Doc
from learnloop_shared.events import ShareDelivered, encode, make_event

_ID, _RECIPIENT = "\x00event-id\x00", "\x00recipient\x00"


def delivery_event_id(share_id: str, recipient: str) -> str:
    """Deterministic (a re-sent delivery keeps its id, so consumers deduplicate it) and cheap to make:
    share ids are UUIDs, so "<share>:<recipient>" is unambiguous."""
    return f"{share_id}:{recipient}"


def delivered_event(doc: Doc, recipient: str, source: str, time: datetime | None = None):  # type: ignore[no-untyped-def]
    """The event as the contract builds it (the reference for :class:`DeliveryEncoder`)."""
    return make_event(
        ShareDelivered(
            share_id=doc["_id"],
            recipient_id=recipient,
            author_id=doc["author_id"],
            title=doc["title"],
            summary=doc.get("summary"),
            url=doc.get("url"),
            topics=tuple(doc.get("topics", [])),
            published_at=doc["created_at"],
            requires=doc.get("requires", "learned"),
            due_at=doc.get("due_at"),
            revision=doc.get("revision", 1),
            has_checks=bool(doc.get("checks")),  # never the questions or their answers
        ),
        source=source,
        subject=doc["_id"],
        event_id=delivery_event_id(doc["_id"], recipient),
        time=time,
    )


class DeliveryEncoder:
    def __init__(self, doc: Doc, source: str, time: datetime | None = None) -> None:
        self._share_id = doc["_id"]
        template = encode(delivered_event(doc, _RECIPIENT, source, time).model_copy(update={"id": _ID})).decode()
        id_token, recipient_token = json.dumps(_ID, ensure_ascii=False), json.dumps(_RECIPIENT, ensure_ascii=False)
        head, rest = template.split(id_token)
        middle, tail = rest.split(recipient_token)
        self._parts = (head, middle, tail)

    def encode(self, recipient: str) -> bytes:
        head, middle, tail = self._parts
        event_id = delivery_event_id(self._share_id, recipient)
        quoted_id = json.dumps(event_id, ensure_ascii=False)
        quoted_recipient = json.dumps(recipient, ensure_ascii=False)
        return f"{head}{quoted_id}{middle}{quoted_recipient}{tail}".encode()
