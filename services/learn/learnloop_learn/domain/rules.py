"""Who may do what in the learn service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from learnloop_shared.auth import Principal

from .teams import TeamGraph


def can_acknowledge(p: Principal, is_recipient: bool) -> bool:
    return is_recipient


def can_read_feedback(p: Principal, author_id: str) -> bool:
    """Feedback names recipients and holds their questions: it is the author's alone. A publishing
    system (``shares:publish``) that published for the author does not see it (it sees the share's
    delivery status in the share service)."""
    return can_read_feedback_as(p.sub, author_id)


def can_read_feedback_as(user_id: str, author_id: str) -> bool:
    return user_id == author_id


def can_read_team(graph: TeamGraph, user_id: str, team_id: str) -> bool:
    """A team's reports are for the managers of the team and of every team it is nested under (a team
    the directory copy does not know has none)."""
    return team_id in graph.teams and team_id in graph.managed_by(user_id)


def is_retracted(share: Mapping[str, Any]) -> bool:
    """A retracted share takes no more acknowledgements or answers (410)."""
    return share.get("status") == "retracted"


def can_remind(p: Principal, author_id: str) -> bool:
    """Reminding a share's recipients is the author's (like feedback, it acts on who has not learned)."""
    return p.sub == author_id
