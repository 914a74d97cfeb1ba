"""The author's dashboard: one row per share the author published, with its funnel. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .checks import has_checks
from .follow_through import Requires

ShareStatus = Literal["active", "retracted"]
MAX_SHARES_PAGE = 50  # each row counts its recipients' acknowledgements: pages stay small
COUNTS = ("recipients", "opened", "learned", "applied", "passed", "completed", "pending", "overdue")


class AuthorShare(BaseModel):
    """A share as its author's dashboard lists it. The funnel counts are those of ``/feedback``:
    ``recipients`` ≥ ``opened``, ``learned``, ``applied`` (current confirm cycle); ``passed`` counts recipients
    who passed the knowledge check (0 without one); ``completed`` + ``pending`` + ``overdue`` = ``recipients``."""

    share_id: str
    title: str
    url: str | None = None
    published_at: datetime
    status: ShareStatus = "active"
    requires: Requires = "learned"
    due_at: datetime | None = None
    has_checks: bool = False
    recipients: int = Field(0, description="Recipients learn has stored (the funnel's 'delivered')")
    opened: int = 0
    learned: int = 0
    applied: int = 0
    passed: int = 0
    completed: int = 0
    pending: int = 0
    overdue: int = 0


def author_share(share: Mapping[str, Any], counts: Mapping[str, int]) -> AuthorShare:
    """The row of ``share`` from its counts (``recipients``, ``opened``, …; a missing count is 0)."""
    return AuthorShare(
        share_id=share["_id"],
        title=share["title"],
        url=share.get("url"),
        published_at=share["published_at"],
        status="retracted" if share.get("status") == "retracted" else "active",
        requires=share.get("requires", "learned"),
        due_at=share.get("due_at"),
        has_checks=has_checks(share),
        **{k: int(counts.get(k, 0)) for k in COUNTS},
    )
