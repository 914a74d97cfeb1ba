"""Who may do what in the share service. Pure functions of the caller and the resource."""

from __future__ import annotations

from learnloop_shared.auth import Principal

DIRECTORY_WRITE = "directory:write"
SHARES_PUBLISH = "shares:publish"
PUBLISHERS_WRITE = "publishers:write"


def can_write_directory(p: Principal) -> bool:
    return p.has(DIRECTORY_WRITE)


def can_manage_subscriptions(p: Principal, user_id: str) -> bool:
    return p.sub == user_id or p.has(DIRECTORY_WRITE)


def can_publish_as(p: Principal, author_id: str) -> bool:
    return author_id == p.sub or p.has(SHARES_PUBLISH)


def can_view_share(p: Principal, author_id: str) -> bool:
    """The author, and publishing systems (to follow the delivery of what they published, and to revise
    or retract it)."""
    return author_id == p.sub or p.has(SHARES_PUBLISH)


def sees_derived(p: Principal, author_id: str) -> bool:
    """Only the author lists the shares that build on theirs."""
    return author_id == p.sub


def sees_recipients(p: Principal, author_id: str) -> bool:
    """Only the author sees whom a share names (its named and unknown users): a publishing system that
    is not the author sees the status and counts, not the learners' identities."""
    return author_id == p.sub


def sees_answer_key(p: Principal, author_id: str) -> bool:
    """The answers of a share's knowledge check: its author and publishing systems, never a recipient."""
    return author_id == p.sub or p.has(SHARES_PUBLISH)
