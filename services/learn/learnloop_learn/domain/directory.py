"""Learn's copy of the directory, as directory events build it: pure rules, no I/O.

A user's change carries a ``version`` that goes up with every change; the copy keeps the highest one, so
a replay, a republish (same version) or an older event arriving late changes nothing.

A team's change comes in ``parts`` events (its members split in parts of at most 2,000), all with the
same version. The copy takes a version once every part of it is stored, and only when it is newer than
the version it holds: an older complete version never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_TEAM_MEMBERS = 50_000  # as the share service allows
MAX_MEMBERS_PER_PART = 2000
MAX_TEAM_PARTS = -(-MAX_TEAM_MEMBERS // MAX_MEMBERS_PER_PART)


@dataclass(frozen=True)
class UserVersion:
    user_id: str
    name: str
    email: str | None
    version: int


@dataclass(frozen=True)
class TeamPart:
    """One event of a team's version: the team's fields (repeated in every part) and this part's members."""

    team_id: str
    name: str
    teams: tuple[str, ...]  # nested under this team
    managers: tuple[str, ...]
    members: tuple[str, ...]
    members_total: int
    part: int
    parts: int
    version: int
    changed_at: datetime


def newest_users(users: Iterable[UserVersion]) -> list[UserVersion]:
    """Each user once, at the highest version given (a batch may hold several changes of one user)."""
    best: dict[str, UserVersion] = {}
    for u in users:
        if (known := best.get(u.user_id)) is None or u.version > known.version:
            best[u.user_id] = u
    return list(best.values())


def why_rejected(part: TeamPart) -> str | None:
    """Why the copy cannot take this event (None: it can). A version is held whole while it is applied."""
    if part.parts > MAX_TEAM_PARTS or part.members_total > MAX_TEAM_MEMBERS:
        return f"a team has at most {MAX_TEAM_MEMBERS} members in at most {MAX_TEAM_PARTS} parts"
    return None


def assembled(parts: Sequence[TeamPart], version: int) -> list[str] | None:
    """The members of ``version`` in part order if every one of its parts is among ``parts``, else None."""
    mine = {p.part: p for p in parts if p.version == version}
    if not mine:
        return None
    expected = next(iter(mine.values())).parts
    if any(n not in mine for n in range(expected)):
        return None
    return [m for n in range(expected) for m in mine[n].members]


def membership_changes(old: set[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """(users who joined, users who left) when the team's members go from ``old`` to ``new``; sorted."""
    wanted = set(new)
    return sorted(wanted - old), sorted(old - wanted)
