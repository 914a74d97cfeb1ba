"""Event contracts shared by all services."""

from .codec import UndecodableEvent, decode, encode
from .contracts import (
    AckKind,
    Audience,
    EventDeadLettered,
    LearningAcknowledged,
    NotificationCreated,
    ShareDelivered,
    SharePublished,
    ShareRequested,
)
from .envelope import Envelope, EventData, make_event, new_event_id, stable_event_id, utcnow

__all__ = [
    "AckKind",
    "Audience",
    "Envelope",
    "EventData",
    "EventDeadLettered",
    "LearningAcknowledged",
    "NotificationCreated",
    "ShareDelivered",
    "SharePublished",
    "ShareRequested",
    "UndecodableEvent",
    "decode",
    "encode",
    "make_event",
    "new_event_id",
    "stable_event_id",
    "utcnow",
]
