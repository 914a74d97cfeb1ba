"""Who may do what in the learn service."""

from __future__ import annotations

from learnloop_shared.auth import Principal


def can_acknowledge(p: Principal, is_recipient: bool) -> bool:
    return is_recipient


def can_read_feedback(p: Principal, author_id: str) -> bool:
    return p.sub == author_id or p.has("shares:publish")
