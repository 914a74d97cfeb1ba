"""Teams as learn's directory copy knows them: nesting, who belongs where, who manages what. Pure, no I/O.

A team lists the teams nested under it (``teams``); nesting may go any depth and the directory does not
forbid cycles, so every walk here remembers where it has been and cuts a cycle where it closes.

- The *closure* of team T is T and every team nested under it, at any depth.
- A user belongs to T iff one of their direct teams is in T's closure.
- A manager of T may read reports for every team in T's closure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TeamInfo:
    id: str
    name: str
    teams: tuple[str, ...] = ()  # nested under this one
    managers: tuple[str, ...] = ()


@dataclass
class TeamGraph:
    """All teams of the copy (teams, not their members: a graph of thousands of nodes, not of people).

    Per-team answers are memoised: a report asks for the same few teams for every recipient.
    """

    teams: Mapping[str, TeamInfo]
    _parents: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    _up: dict[str, frozenset[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for t in self.teams.values():
            for child in t.teams:
                self._parents.setdefault(child, []).append(t.id)

    @classmethod
    def of(cls, teams: Iterable[TeamInfo]) -> TeamGraph:
        return cls({t.id: t for t in teams})

    def name(self, team_id: str) -> str:
        """The team's name; its id when the copy does not know it (yet)."""
        t = self.teams.get(team_id)
        return t.name if t is not None and t.name else team_id

    def closure(self, team_id: str) -> set[str]:
        """``team_id`` and every team nested under it, at any depth (cycles cut)."""
        return _walk([team_id], self._children)

    def containing(self, team_id: str) -> frozenset[str]:
        """Every team whose closure holds ``team_id``: itself and all the teams it is nested under."""
        if (known := self._up.get(team_id)) is None:
            known = frozenset(_walk([team_id], lambda t: self._parents.get(t, ())))
            self._up[team_id] = known
        return known

    def teams_of(self, direct: Iterable[str]) -> set[str]:
        """The teams a user with these direct teams belongs to (directly or through nesting)."""
        out: set[str] = set()
        for d in direct:
            out |= self.containing(d)
        return out

    def managed_by(self, user_id: str) -> set[str]:
        """The teams whose reports ``user_id`` may read: the closures of the teams they manage."""
        return _walk([t.id for t in self.teams.values() if user_id in t.managers], self._children)

    def _children(self, team_id: str) -> Sequence[str]:
        t = self.teams.get(team_id)
        return t.teams if t is not None else ()


def _walk(start: Iterable[str], nexts: Callable[[str], Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        t = stack.pop()
        if t in seen:
            continue  # a cycle (or a diamond): already counted
        seen.add(t)
        stack.extend(n for n in nexts(t) if n not in seen)
    return seen
