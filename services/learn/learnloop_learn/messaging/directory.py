"""Directory events from ``learnloop.directory`` (users and teams changed), handed to
:mod:`..usecases.directory`. Keyed by user or team id: every part of a team's version comes in order on
one partition."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.events import DirectoryTeamChanged, DirectoryUserChanged
from learnloop_shared.kafka.consumers import Received, Rejected

from ..domain.directory import TeamPart, UserVersion, why_rejected
from ..usecases.directory import KeepDirectory


class DirectoryHandlers:
    def __init__(self, keep: KeepDirectory) -> None:
        self._keep = keep

    async def on_user_changed(self, batch: Sequence[Received]) -> None:
        users = []
        for item in batch:
            d: DirectoryUserChanged = item.event.data
            users.append(UserVersion(d.user_id, d.name, d.email, d.version))
        await self._keep.users_changed(users)

    async def on_team_changed(self, batch: Sequence[Received]) -> list[Rejected]:
        parts: list[TeamPart] = []
        rejected: list[Rejected] = []
        for item in batch:
            d: DirectoryTeamChanged = item.event.data
            part = TeamPart(
                team_id=d.team_id,
                name=d.name,
                teams=d.teams,
                managers=d.managers,
                members=d.members,
                members_total=d.members_total,
                part=d.part,
                parts=d.parts,
                version=d.version,
                changed_at=d.changed_at,
            )
            if (reason := why_rejected(part)) is not None:
                rejected.append(Rejected(item, reason))
            else:
                parts.append(part)
        await self._keep.teams_changed(parts)
        return rejected
