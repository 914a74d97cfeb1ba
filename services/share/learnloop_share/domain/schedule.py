"""What a share asks of its recipients over time: a due time and reminders after publication.

Reminders are ISO 8601 durations (``P2D``, ``PT4H``, ``PT3S``), parsed by pydantic's own ISO 8601 duration
parser. Only fixed-length units are accepted — weeks, days, hours, minutes, seconds — because a year or a
month has no fixed length; each duration is a whole number of seconds, at least :data:`MIN_REMINDER_S` and at
most :data:`MAX_REMINDER_S`. Durations are stored in one normal form (``P1W`` → ``P7D``, ``PT90M`` →
``PT1H30M``) with their seconds, so every service reads the same offsets.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints, TypeAdapter, ValidationError

MAX_REMINDERS = 10
MIN_REMINDER_S = 1
MAX_REMINDER_S = 366 * 86_400
# A due time past this is refused: times must stay far inside what dates and date arithmetic can hold.
LATEST_DUE = datetime(3000, 1, 1, tzinfo=UTC)

_SYNTAX = re.compile(r"^P(?:\d+(?:[.,]\d+)?[WD])*(?:T(?:\d+(?:[.,]\d+)?[HMS])+)?$")
_TIMEDELTA = TypeAdapter(timedelta)


def reminder_seconds(value: str) -> int:
    """The seconds of an ISO 8601 duration; ValueError (with the reason) for anything else."""
    text = value.strip().upper()
    if text in ("P", "PT") or not _SYNTAX.match(text):
        raise ValueError(
            f"{value!r} is not an ISO 8601 duration in weeks, days, hours, minutes or seconds (e.g. P2D, PT4H, PT30S)"
        )
    try:
        delta = _TIMEDELTA.validate_python(text)
    except ValidationError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 duration") from exc
    seconds = delta.total_seconds()
    if seconds != int(seconds):
        raise ValueError(f"{value!r} is not a whole number of seconds")
    if not MIN_REMINDER_S <= seconds <= MAX_REMINDER_S:
        raise ValueError(f"{value!r} must be at least PT{MIN_REMINDER_S}S and at most P{MAX_REMINDER_S // 86_400}D")
    return int(seconds)


def format_duration(seconds: int) -> str:
    """The normal form of a duration: days, then hours, minutes and seconds, zero parts left out."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if not seconds:
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def normalize_reminder(value: str) -> str:
    return format_duration(reminder_seconds(value))


Reminder = Annotated[str, StringConstraints(min_length=2, max_length=50), AfterValidator(normalize_reminder)]
"""A reminder as the API takes it: an ISO 8601 duration after publication, stored in its normal form."""


def reminder_plan(reminders: list[str]) -> tuple[list[str], list[int]]:
    """Normal-form reminders and their seconds, earliest first, each offset once."""
    offsets = sorted({reminder_seconds(r) for r in reminders})
    return [format_duration(s) for s in offsets], offsets


def check_due(value: datetime | None, now: datetime) -> datetime | None:
    """A due time must lie in the future (and before :data:`LATEST_DUE`).

    Kept in UTC to the millisecond, the precision MongoDB stores: every event then carries the same due time
    as the stored share (consumers key work on it, e.g. one overdue notice per due time).
    """
    if value is None:
        return None
    if value <= now:
        raise ValueError("due_at must be in the future")
    if value >= LATEST_DUE:
        raise ValueError(f"due_at must be before {LATEST_DUE.year}")
    return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


DueAt = AwareDatetime
"""An RFC 3339 time with a time zone (``2026-12-03T17:00:00Z``)."""
