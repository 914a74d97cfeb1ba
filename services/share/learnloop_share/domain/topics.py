"""Topic names and subscriptions, with prefix wildcards (``kafka.*``)."""

from __future__ import annotations

import re

TOPIC_PATTERN = r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9][a-z0-9_\-]*)*(\.\*)?$"
_TOPIC_RE = re.compile(TOPIC_PATTERN)
MAX_TOPIC_LENGTH = 128


def normalize_topic(value: str) -> str:
    topic = value.strip().lower()
    if not topic or len(topic) > MAX_TOPIC_LENGTH or not _TOPIC_RE.match(topic):
        raise ValueError(
            f"invalid topic {value!r}: use dot-separated lowercase words (a-z, 0-9, - and _), "
            "optionally ending in '.*' for every topic under a prefix"
        )
    return topic


def is_wildcard(topic: str) -> bool:
    return topic.endswith(".*")


def matching_subscriptions(topic: str) -> list[str]:
    """Subscriptions that receive a share on ``topic``: the topic itself and each wildcard above it.

    >>> matching_subscriptions("kafka.streams.tuning")
    ['kafka.streams.tuning', 'kafka.*', 'kafka.streams.*']
    """
    base = topic[:-2] if is_wildcard(topic) else topic
    parts = base.split(".")
    return [topic] + [".".join(parts[:i]) + ".*" for i in range(1, len(parts))]


def wildcard_prefix(topic: str) -> str | None:
    """For an audience topic ``kafka.*``, the prefix every matched subscription starts with."""
    return topic[:-1] if is_wildcard(topic) else None
