"""Reminder rounds: pure rules for running them, no I/O.

A round is one step of a share's follow-through plan (collection ``rounds``, ``_id`` = ``<share>|<step>``):
a scheduled reminder (``s<offset seconds>``), the overdue notice at the due time (``due@<due_at>``), a
re-confirmation after a revision (``r<revision>``) or a reminder the author asked for (``m<epoch ms>``).
The plan side writes rounds ``planned``; a runner claims a due one with a lease (``running``), moves its
checkpoint forward one batch of recipients at a time (each batch's event in the same transaction as the
checkpoint) and ends it ``done``. ``cancelled`` rounds are never run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from learnloop_shared.events import stable_event_id
from learnloop_shared.events.contracts import MAX_REMINDED_PER_EVENT

Reason = Literal["scheduled", "overdue", "revised", "manual"]
BUCKET_REASONS: frozenset[str] = frozenset({"scheduled", "manual"})  # remind who has not completed


def is_completed(progress: dict[str, Any], confirm_revision: int) -> bool:
    """A recipient completed the share iff they completed it at or after the latest revision that asked
    for re-confirmation."""
    last = progress.get("last_completed_revision")
    return last is not None and last >= confirm_revision


def pending_users(users: Sequence[str], completed: Iterable[str]) -> list[str]:
    """``users`` without those who completed, in their order."""
    done = set(completed)
    return [u for u in users if u not in done]


@dataclass(frozen=True)
class Position:
    """How far a bucket round got: every bucket with a smaller ``_id`` than ``bucket`` is handled, and the
    first ``offset`` users of ``bucket`` (all of them when ``offset`` ≥ their number).
    ``bucket`` None: nothing yet."""

    bucket: str | None = None
    offset: int = 0


def chunks_from(bucket_id: str, users: Sequence[str], pos: Position, size: int) -> list[tuple[int, list[str]]]:
    """The (start offset, users) chunks of one bucket still to handle after ``pos``, ``size`` at most each."""
    start = pos.offset if bucket_id == pos.bucket else 0
    return [(i, list(users[i : i + size])) for i in range(start, len(users), size)]


def reminded_event_id(round_id: str, bucket_id: str, offset: int) -> str:
    """Stable per batch of a round: the same batch re-emitted after a crash keeps its id."""
    return stable_event_id("learning.reminded", round_id, bucket_id, str(offset))


def revised_event_id(round_id: str, first_progress_id: str) -> str:
    return stable_event_id("learning.reminded", round_id, first_progress_id)


def overdue_event_id(share_id: str, due_at: datetime) -> str:
    """One overdue notice per (share, due time): a due time moved and moved back is the same notice."""
    return stable_event_id("learning.overdue", share_id, due_at.isoformat())


def previous_cycle_start(revisions: Iterable[dict[str, Any]], revision: int) -> int:
    """The confirm cycle that ``revision`` ends: the latest earlier revision that asked for
    re-confirmation (revision 1 starts the first cycle)."""
    starts = [int(r["revision"]) for r in revisions if r.get("reconfirm") and int(r["revision"]) < revision]
    return max([1, *starts])


def manual_round_id(share_id: str, now: datetime) -> str:
    return f"{share_id}|m{math.floor(now.timestamp() * 1000)}"


def retry_after_s(last: datetime | None, now: datetime, interval_s: float) -> int:
    """Seconds until the author may ask for a reminder again (0: now). At least 1 while waiting."""
    if last is None:
        return 0
    left = interval_s - (now - last).total_seconds()
    return max(1, math.ceil(left)) if left > 0 else 0


def batch_size(configured: int) -> int:
    return max(1, min(configured, MAX_REMINDED_PER_EVENT))
