"""Author feedback digests: which acknowledgements go out at once, windows, and the digest text. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from learnloop_shared.events import LearningAcknowledged, LearningChecked

IMMEDIATE = "question"  # a question reaches the author at once, with its text
PASSED = "passed"  # counter of passed knowledge checks (from ``learning.checked``)
COUNTED = ("opened", "learned", PASSED, "applied")
COUNTED_TEXT = {PASSED: "passed the check"}


@dataclass(frozen=True)
class Counted:
    """One event's contribution to its share's digest: a counter to add 1 to, or a recipient's rating."""

    share_id: str
    author_id: str
    title: str
    at: datetime  # the event's time: it picks the window
    counter: str | None = None
    rating: tuple[str, int] | None = None


def counted_acknowledgement(a: LearningAcknowledged) -> Counted:
    if a.kind == "rated" and a.rating is not None:
        return Counted(a.share_id, a.author_id, a.title, a.acknowledged_at, rating=(a.recipient_id, a.rating))
    return Counted(a.share_id, a.author_id, a.title, a.acknowledged_at, counter=a.kind)


def counted_check(c: LearningChecked) -> Counted | None:
    """A passed attempt counts as ``passed``; a failed one is not feedback the author is told of."""
    if not c.passed:
        return None
    return Counted(c.share_id, c.author_id, c.title, c.checked_at, counter=PASSED)


def window_start(at: datetime, window_s: int) -> datetime:
    """Windows are aligned to the epoch, so every worker computes the same window for an event."""
    ts = int(at.timestamp())
    return datetime.fromtimestamp(ts - ts % window_s, UTC)


def next_window(start: datetime, window_s: int) -> datetime:
    return start + timedelta(seconds=window_s)


def latest_ratings(ratings: list[list[object]]) -> dict[str, int]:
    """The last rating of each recipient in the window (a later rating replaces an earlier one)."""
    out: dict[str, int] = {}
    for who, value in ratings:
        out[str(who)] = int(value)  # type: ignore[call-overload]
    return out


def digest_text(counts: dict[str, int], ratings: dict[str, int]) -> str:
    """e.g. "7 opened, 4 learned, 3 passed the check, 1 applied, average rating 4.5"."""
    parts = [f"{counts[k]} {COUNTED_TEXT.get(k, k)}" for k in COUNTED if counts.get(k)]
    if ratings:
        avg = sum(ratings.values()) / len(ratings)
        parts.append(f"average rating {round(avg, 1):g}")
    return ", ".join(parts) if parts else "no new activity"
