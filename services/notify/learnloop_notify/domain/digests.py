"""Author feedback digests: which acknowledgements go out at once, windows, and the digest text. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

IMMEDIATE = "question"  # a question reaches the author at once, with its text
COUNTED = ("opened", "learned", "applied")


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
    """e.g. "7 opened, 4 learned, 1 applied, average rating 4.5"."""
    parts = [f"{counts[k]} {k}" for k in COUNTED if counts.get(k)]
    if ratings:
        avg = sum(ratings.values()) / len(ratings)
        parts.append(f"average rating {round(avg, 1):g}")
    return ", ".join(parts) if parts else "no new activity"
