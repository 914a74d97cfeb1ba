"""Nested teams: expansion and cycle detection, free of I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class TeamCycleError(ValueError):
    pass


def find_cycle(team_id: str, subteams: Sequence[str], graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The cycle that saving ``team_id`` with ``subteams`` would create in ``graph``, if any."""
    g = dict(graph)
    g[team_id] = list(subteams)
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in on_path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        on_path.add(node)
        path.append(node)
        for child in g.get(node, ()):
            found = visit(child)
            if found:
                return found
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    return visit(team_id)
