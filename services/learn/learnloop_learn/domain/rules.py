"""Who may do what in the learn service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from learnloop_shared.auth import Principal


def can_acknowledge(p: Principal, is_recipient: bool) -> bool:
    return is_recipient


def can_read_feedback(p: Principal, author_id: str) -> bool:
    """Feedback names recipients and holds their questions: it is the author's alone. A publishing
    system (``shares:publish``) that published for the author does not see it (it sees the share's
    delivery status in the share service)."""
    return p.sub == author_id


def is_retracted(share: Mapping[str, Any]) -> bool:
    """A retracted share takes no more acknowledgements or answers (410)."""
    return share.get("status") == "retracted"


def can_remind(p: Principal, author_id: str) -> bool:
    """Reminding a share's recipients is the author's (like feedback, it acts on who has not learned)."""
    return p.sub == author_id
