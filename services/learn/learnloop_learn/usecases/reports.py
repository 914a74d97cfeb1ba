"""Reports for authors and team managers: per-team counts of a share, its CSV export, a team's shares.

Memory stays flat whatever the audience: a share's recipients are read bucket by bucket (≤ 1,000 users;
per bucket one query for their memberships and one for their progress), a team's members chunk by chunk;
only counters (and the bounded median of :mod:`..domain.reports`) are kept. The team graph (teams, not
people) is loaded once per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from learnloop_shared.documents import Doc
from learnloop_shared.events import utcnow
from learnloop_shared.mongo import After

from ..domain import export, rules
from ..domain.reports import Counts, TeamReport, facts_of
from ..storage.directory import DirectoryCopy
from ..storage.learning import LearningStore


@dataclass(frozen=True)
class ShareReport:
    totals: dict[str, Any]
    by_team: list[dict[str, Any]]


@dataclass(frozen=True)
class TeamShare:
    share_id: str
    title: str
    author_id: str
    published_at: datetime
    due_at: datetime | None
    counts: dict[str, Any]


class Reports:
    def __init__(self, store: LearningStore, directory: DirectoryCopy) -> None:
        self._store = store
        self._directory = directory

    async def share_report(self, share: Doc, reader: str) -> ShareReport | None:
        """The author's report, or a manager's (rows of the teams they manage and those nested under
        them; totals over recipients in those teams). None when the reader may not see any of it."""
        graph = await self._directory.graph()
        visible = None if rules.can_read_feedback_as(reader, share["author_id"]) else graph.managed_by(reader)
        if visible is not None and not visible:
            return None  # manages no team: no need to read the audience
        report = TeamReport(visible)
        now = utcnow()
        async for bucket in self._store.audience.with_stored_at(share["_id"]):
            users: list[str] = bucket["users"]
            # A manager's teams are closed under nesting: a recipient belongs to one of them iff one of
            # their DIRECT teams is one of them, so only those memberships (and their progress) are read.
            direct = await self._directory.direct_teams(users, visible)
            counted = users if visible is None else [u for u in users if u in direct]
            progress = await self._store.progress_of(share["_id"], counted)
            for u in counted:
                report.add(
                    graph.teams_of(direct.get(u, ())), facts_of(progress.get(u), share, bucket.get("stored_at"), now)
                )
        if visible is not None and report.totals.recipients == 0:
            return None  # none of their teams received it
        return ShareReport(report.totals.as_dict(), report.rows(graph.name))

    async def csv_chunks(self, share: Doc) -> AsyncIterator[str]:
        """The export as CSV text: the header, then one chunk per audience bucket (its recipients in order)."""
        graph = await self._directory.graph()
        now = utcnow()
        yield export.lines([export.COLUMNS])
        async for bucket in self._store.audience.with_stored_at(share["_id"]):
            users: list[str] = bucket["users"]
            direct = await self._directory.direct_teams(users)
            names = await self._directory.names(users)
            progress = await self._store.progress_of(share["_id"], users)
            at = bucket.get("stored_at")
            yield export.lines(
                [
                    export.row(
                        u,
                        names.get(u, ""),
                        graph.teams_of(direct.get(u, ())),
                        at,
                        facts_of(progress.get(u), share, at, now),
                    )
                    for u in users
                ]
            )

    async def team_learning(
        self, reader: str, team_id: str, after: After | None, limit: int
    ) -> tuple[list[TeamShare], After | None] | None:
        """Up to ``limit`` shares delivered to members of the team (directly or through nesting), newest
        first, with counts over those members only, and where the next page starts (None: no more).
        None when ``reader`` manages neither the team nor a team it is nested under.

        Two passes over the team's members, chunk by chunk: one finds the newest shares any of them
        received (keeping at most ``limit + 1``), the other counts the page's shares for them.
        """
        graph = await self._directory.graph()
        if not rules.can_read_team(graph, reader, team_id):
            return None
        teams = graph.closure(team_id)
        newest: list[Doc] = []
        async for members in self._directory.members_in(teams):
            found = await self._store.audience.newest_shares_of_any(members, after, limit + 1)
            newest = _newest([*newest, *found], limit + 1)
        page, more = newest[:limit], len(newest) > limit
        next_after = (page[-1]["delivered_at"], page[-1]["share_id"]) if more else None
        ids = [d["share_id"] for d in page]
        if not ids:
            return [], None
        shares = {s["_id"]: s for s in await self._store.shares.find({"_id": {"$in": ids}}).to_list()}
        counts = {sid: Counts() for sid in ids}
        now = utcnow()
        async for members in self._directory.members_in(teams):
            found = [b async for b in self._store.audience.recipients_among(ids, members)]
            progress = await self._store.progress_by_id([f"{b['share_id']}|{u}" for b in found for u in b["users"]])
            for b in found:
                sid = b["share_id"]
                if (share := shares.get(sid)) is None:
                    continue
                for u in b["users"]:
                    counts[sid].add(facts_of(progress.get(f"{sid}|{u}"), share, b.get("stored_at"), now))
        items = [
            TeamShare(
                share_id=sid,
                title=shares[sid]["title"],
                author_id=shares[sid]["author_id"],
                published_at=shares[sid]["published_at"],
                due_at=shares[sid].get("due_at"),
                counts=counts[sid].as_dict(),
            )
            for sid in ids
            if sid in shares
        ]
        return items, next_after


def _newest(docs: Iterable[Doc], n: int) -> list[Doc]:
    """The ``n`` newest of ``{share_id, delivered_at}`` documents, each share once (newest first, then id
    descending, the order of the list's cursor)."""
    unique = {d["share_id"]: d for d in docs}
    return sorted(unique.values(), key=lambda d: (d["delivered_at"], d["share_id"]), reverse=True)[:n]
