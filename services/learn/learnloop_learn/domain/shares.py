"""Learn's copy of a share as first stored (pure construction; the fields are described in
``storage/shares.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .follow_through import offsets_of

FOLLOW_THROUGH = ("requires", "due_at", "reminders", "reminder_offsets_s")
"""The fields ``share.published`` sets on a copy first stored from a delivery (which lacks the reminders)."""


def new_share(
    share_id: str,
    author_id: str,
    title: str,
    url: str | None,
    topics: Sequence[str],
    published_at: datetime,
    requires: str = "learned",
    due_at: datetime | None = None,
    reminders: Sequence[str] = (),
    revision: int = 1,
    has_checks: bool = False,
) -> dict[str, Any]:
    """A share document as first stored. A delivery knows only whether the share has a knowledge check;
    ``share.published`` adds the check itself (``domain.checks.check_fields``)."""
    return {
        "_id": share_id,
        "author_id": author_id,
        "title": title,
        "url": url,
        "topics": list(topics),
        "published_at": published_at,
        "requires": requires,
        "due_at": due_at,
        "reminders": list(reminders),
        "reminder_offsets_s": offsets_of(reminders),
        "revision": revision,
        "confirm_revision": 1,
        "revisions": [{"revision": 1, "at": published_at, "reconfirm": True}],
        "status": "active",
        "retracted_at": None,
        "built_upon": 0,
        "has_checks": has_checks,
    }
