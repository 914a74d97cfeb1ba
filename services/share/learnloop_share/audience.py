"""Audience resolution: named users ∪ members of named (and nested) teams ∪ topic subscribers,
deduplicated, author excluded — streamed in recipient-id order, never loaded whole into memory.

An audience from one source that is unique by construction (only topics, only named users, or one
team without sub-teams) is streamed straight from the directory. Anything combined is first
materialized into an :class:`AudienceStore`, which deduplicates through its unique index. Either way
recipients come in id order, so fan-out can checkpoint "delivered up to X" and resume after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .domain.shares import AudienceSpec
from .storage.audience import AudienceStore
from .storage.directory import Directory


@dataclass(frozen=True)
class CheckedAudience:
    """An audience split into what the directory knows (to resolve) and what it doesn't (to report)."""

    spec: dict[str, list[str]]
    unknown_users: list[str]
    unknown_teams: list[str]


async def check_audience(directory: Directory, audience: AudienceSpec) -> CheckedAudience:
    known_users = await directory.existing_ids("users", audience.users)
    known_teams = await directory.existing_ids("teams", audience.teams)
    return CheckedAudience(
        spec={
            "users": [u for u in audience.users if u in known_users],
            "teams": [t for t in audience.teams if t in known_teams],
            "topics": list(audience.topics),
        },
        unknown_users=[u for u in audience.users if u not in known_users],
        unknown_teams=[t for t in audience.teams if t not in known_teams],
    )


@dataclass(frozen=True)
class Plan:
    key: str  # the share (or preview) id the materialized audience is stored under
    author: str
    materialized: bool
    users: tuple[str, ...] = ()
    query: dict[str, Any] | None = None  # a directory query for topic-only audiences


class AudienceResolver:
    def __init__(self, directory: Directory, store: AudienceStore, batch_size: int) -> None:
        self._directory = directory
        self._store = store
        self._batch = batch_size

    async def plan(self, key: str, audience: dict[str, list[str]], author: str) -> Plan:
        users, teams, topics = audience.get("users", []), audience.get("teams", []), audience.get("topics", [])
        if users and not teams and not topics:
            return Plan(key, author, False, users=tuple(sorted(u for u in set(users) if u != author)))
        if topics and not users and not teams:
            query = {"$and": [self._directory.subscribers_query(topics), {"_id": {"$ne": author}}]}
            return Plan(key, author, False, query=query)
        if len(teams) == 1 and not users and not topics:
            expanded = await self._directory.expand_teams(teams)
            if expanded == teams:
                team = await self._directory.get_team(teams[0])
                members = sorted(set(team.members) - {author}) if team else []
                return Plan(key, author, False, users=tuple(members))
        return Plan(key, author, True)

    async def materialize(self, plan: Plan, audience: dict[str, list[str]]) -> None:
        """Write a combined audience into the store (idempotent: safe to repeat after a crash)."""
        if not plan.materialized:
            return
        users, teams, topics = audience.get("users", []), audience.get("teams", []), audience.get("topics", [])
        for i in range(0, len(users), self._batch):
            await self._store.add(plan.key, users[i : i + self._batch], exclude=plan.author)
        if teams:
            expanded = await self._directory.expand_teams(teams)
            async for members in self._directory.team_members(expanded, self._batch):
                await self._store.add(plan.key, members, exclude=plan.author)
        if topics:
            query = self._directory.subscribers_query(topics)
            async for ids in self._directory.user_ids(query, None, self._batch):
                await self._store.add(plan.key, ids, exclude=plan.author)

    async def size(self, plan: Plan) -> int:
        if plan.materialized:
            return await self._store.size(plan.key)
        if plan.query is not None:
            return await self._directory.count_users(plan.query)
        return len(plan.users)

    async def recipients(self, plan: Plan, after: str | None) -> AsyncIterator[list[str]]:
        """Recipients in id order, after ``after``, in batches."""
        if plan.materialized:
            async for batch in self._store.recipients_after(plan.key, after, self._batch):
                yield batch
        elif plan.query is not None:
            async for batch in self._directory.user_ids(plan.query, after, self._batch):
                yield batch
        else:
            remaining = [u for u in plan.users if after is None or u > after]
            for i in range(0, len(remaining), self._batch):
                yield remaining[i : i + self._batch]

    async def discard(self, plan: Plan) -> None:
        await self._store.discard(plan.key)

    async def sample(self, plan: Plan, n: int) -> list[str]:
        async for batch in self.recipients(plan, None):
            return batch[:n]
        return []
