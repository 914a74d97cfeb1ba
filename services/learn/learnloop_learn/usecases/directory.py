"""Keeping learn's directory copy from directory events (rules: :mod:`..domain.directory`).

Idempotent and replay-safe: users and teams are written only at a higher version than stored, parts
are staged under ids of their own, and a team's memberships are diffed against what is stored, so
applying the same version twice (after a crash between its writes) finishes rather than repeats it.
Events of one team share a Kafka partition and come in order; a batch is handled team by team.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..domain.directory import TeamPart, UserVersion, assembled, membership_changes, newest_users
from ..storage.directory import DirectoryCopy

log = logging.getLogger(__name__)


class KeepDirectory:
    def __init__(self, copy: DirectoryCopy) -> None:
        self._copy = copy

    async def users_changed(self, users: Sequence[UserVersion]) -> None:
        await self._copy.put_users(newest_users(users))

    async def teams_changed(self, parts: Sequence[TeamPart]) -> None:
        per_team: dict[str, list[TeamPart]] = {}
        for p in parts:
            per_team.setdefault(p.team_id, []).append(p)
        for team_id, team_parts in per_team.items():
            await self._team_changed(team_id, team_parts)

    async def _team_changed(self, team_id: str, parts: list[TeamPart]) -> None:
        stored = await self._copy.team_version(team_id)
        newer = [p for p in parts if p.version > stored]
        staged = [p for p in newer if p.parts > 1]  # a version in one part needs no staging
        if staged:
            await self._copy.stage(staged)
        applied = stored
        for version in sorted({p.version for p in newer}, reverse=True):  # the newest complete one wins
            head = next(p for p in newer if p.version == version)
            members = assembled(newer, version) if head.parts == 1 else await self._members(team_id, version)
            if members is None:
                continue  # parts still to come
            await self._apply(head, members)
            applied = version
            break
        if applied > stored:
            await self._copy.drop_staged(team_id, applied)

    async def _members(self, team_id: str, version: int) -> list[str] | None:
        return assembled(await self._copy.staged(team_id, version), version)

    async def _apply(self, head: TeamPart, members: list[str]) -> None:
        joined, left = membership_changes(await self._copy.members_of(head.team_id), members)
        await self._copy.change_memberships(head.team_id, joined, left)
        await self._copy.put_team(head)  # last: until it is written, the version applies again
        log.info("team %s: version %d applied (%d joined, %d left)", head.team_id, head.version, len(joined), len(left))
