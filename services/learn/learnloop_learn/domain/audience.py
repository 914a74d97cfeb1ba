"""Who received a share, grouped in buckets: pure construction, no I/O.

A share arrives as one ``share.delivered`` event per recipient. Learn keeps them as buckets (one
document per share per consumed batch, holding up to :data:`MAX_BUCKET` recipient ids) rather than one
document per recipient: the database's cost is mostly per document, so a recipient inside a bucket
costs a fraction of a document of its own (figures: the README's benchmark section).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

MAX_BUCKET = 1000


@dataclass(frozen=True)
class Bucket:
    id: str
    share_id: str
    delivered_at: datetime  # the share's publication time: the same for all of its deliveries
    users: tuple[str, ...]


@dataclass(frozen=True)
class Delivered:
    """One consumed delivery: which share reached whom, and where the event sat on the topic."""

    share_id: str
    recipient_id: str
    published_at: datetime
    partition: int
    offset: int


def buckets_of(deliveries: Iterable[Delivered]) -> list[Bucket]:
    """The batch's recipients per share, each once, in arrival order, in buckets of ≤ MAX_BUCKET.

    A bucket's id names the first record it holds (partition and offset): a batch consumed again with
    the same boundaries maps to the same ids. Other overlaps (different boundaries, a delivery sent
    twice) are caught by the store's unique index on (recipient, share).
    """
    per_share: dict[str, dict[str, Delivered]] = {}
    for d in deliveries:
        per_share.setdefault(d.share_id, {}).setdefault(d.recipient_id, d)
    buckets: list[Bucket] = []
    for share_id, by_user in per_share.items():
        firsts = list(by_user.values())
        for i in range(0, len(firsts), MAX_BUCKET):
            chunk = firsts[i : i + MAX_BUCKET]
            head = chunk[0]
            buckets.append(
                Bucket(
                    id=f"{share_id}|o{head.partition}:{head.offset}",
                    share_id=share_id,
                    delivered_at=head.published_at,
                    users=tuple(d.recipient_id for d in chunk),
                )
            )
    return buckets


def leftover(bucket: Bucket, stored: set[str]) -> Bucket | None:
    """The part of ``bucket`` not stored yet (None if nothing is left), under an id of its own."""
    users = tuple(u for u in bucket.users if u not in stored)
    if not users:
        return None
    return Bucket(f"{bucket.share_id}|u{users[0]}", bucket.share_id, bucket.delivered_at, users)
