"""Audience resolution: named users ∪ members of named (and nested) teams ∪ topic subscribers,
deduplicated, author excluded — streamed in recipient-id order, never loaded whole into memory.

An audience from one source that is unique by construction (only topics, only named users, or one
team without sub-teams) is streamed straight from the directory. Anything combined is first
materialized into a :class:`MaterializedAudience`, which deduplicates through its unique index. Either way
recipients come in id order, so fan-out can checkpoint "delivered up to X" and resume after it.
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass

from ..domain.shares import AudienceSpec
from ..domain.topics import matching_subscriptions, wildcard_prefix
from ..storage.audience import MaterializedAudience
from ..storage.directory import Directory


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
    keys: tuple[str, ...] | None = None  # subscription keys, for topic-only audiences


async def merge_sorted(streams: Sequence[AsyncIterator[list[str]]], exclude: str) -> AsyncIterator[list[str]]:
    """Merge streams of sorted id lists into one sorted stream without duplicates (k-way, O(k) memory
    beyond the lists in hand); ``exclude`` is left out. Tolerates overlap between a stream's lists."""
    if len(streams) == 1:  # the common case: a single topic
        last = ""
        async for ids in streams[0]:
            out = [u for u in ids if u > last and u != exclude]
            if out:
                last = out[-1]
                yield out
        return
    heap: list[tuple[str, int]] = []
    pending: list[list[str]] = [[] for _ in streams]
    positions = [0] * len(streams)

    async def advance(i: int) -> None:
        while positions[i] >= len(pending[i]):
            nxt = await anext(streams[i], None)
            if nxt is None:
                return
            pending[i], positions[i] = nxt, 0
        heapq.heappush(heap, (pending[i][positions[i]], i))
        positions[i] += 1

    for i in range(len(streams)):
        await advance(i)
    last, out = "", []
    while heap:
        user, i = heapq.heappop(heap)
        if user > last and user != exclude:
            out.append(user)
            last = user
            if len(out) >= 1000:
                yield out
                out = []
        await advance(i)
    if out:
        yield out


async def rebatch(stream: AsyncIterator[list[str]], size: int) -> AsyncIterator[list[str]]:
    buffer: list[str] = []
    async for ids in stream:
        buffer.extend(ids)
        while len(buffer) >= size:
            yield buffer[:size]
            buffer = buffer[size:]
    if buffer:
        yield buffer


class AudienceResolver:
    def __init__(self, directory: Directory, store: MaterializedAudience, batch_size: int) -> None:
        self._directory = directory
        self._store = store
        self._batch = batch_size

    async def plan(self, key: str, audience: dict[str, list[str]], author: str) -> Plan:
        users, teams, topics = audience.get("users", []), audience.get("teams", []), audience.get("topics", [])
        if users and not teams and not topics:
            return Plan(key, author, False, users=tuple(sorted(u for u in set(users) if u != author)))
        if topics and not users and not teams:
            return Plan(key, author, False, keys=await self._subscription_keys(topics))
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
            keys = await self._subscription_keys(topics)
            async for ids in rebatch(self._subscribers(keys, None, plan.author), self._batch):
                await self._store.add(plan.key, ids, exclude=plan.author)

    async def _subscription_keys(self, topics: list[str]) -> tuple[str, ...]:
        """What users subscribe to that matches ``topics``: each topic, wildcards above it, and for a
        wildcard audience (``kafka.*``) every subscription under it."""
        keys: set[str] = set()
        for topic in topics:
            keys.update(matching_subscriptions(topic))
            prefix = wildcard_prefix(topic)
            if prefix:
                keys.update(await self._directory.subscribers.keys_under(prefix))
        return tuple(sorted(keys))

    def _subscribers(self, keys: Sequence[str], after: str | None, author: str) -> AsyncIterator[list[str]]:
        pages = self._directory.subscribers
        return merge_sorted([pages.subscribers(k, after) for k in keys], exclude=author)

    async def size(self, plan: Plan) -> int:
        if plan.materialized:
            return await self._store.size(plan.key)
        if plan.keys is not None:  # reading the pages is cheap enough to count the merged stream
            n = 0
            async for ids in self._subscribers(plan.keys, None, plan.author):
                n += len(ids)
            return n
        return len(plan.users)

    async def recipients(self, plan: Plan, after: str | None) -> AsyncGenerator[list[str], None]:
        """Recipients in id order, after ``after``, in batches."""
        if plan.materialized:
            async for batch in self._store.recipients_after(plan.key, after, self._batch):
                yield batch
        elif plan.keys is not None:
            async for batch in rebatch(self._subscribers(plan.keys, after, plan.author), self._batch):
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
