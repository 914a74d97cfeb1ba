"""Reports for authors and team managers: per-team counts of a share, its CSV export, a team's shares.

Memory stays flat whatever the audience: a share's recipients are streamed, either bucket by bucket
(≤ 1,000 users; per bucket one lookup each of their memberships, progress and, for the CSV, names) or
sorted by user id and merge-joined with those collections read in the same order (:meth:`Reports.merges`
says which); a team's members are read chunk by chunk. Only counters (and the bounded median of
:mod:`..domain.reports`) are kept. The team graph (teams, not people) is loaded once per request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Collection, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from learnloop_shared.documents import Doc
from learnloop_shared.events import utcnow
from learnloop_shared.merge import Side, merge_join
from learnloop_shared.mongo import After

from ..domain import export, rules
from ..domain.reports import Counts, TeamReport, facts_of
from ..storage.directory import DirectoryCopy
from ..storage.learning import LearningStore

CSV_CHUNK = 1000  # rows per chunk of the CSV stream


@dataclass(frozen=True)
class Recipient:
    """A recipient joined with what the reports need: ``direct`` teams (None: in no team, or, for a
    manager, in none of theirs), ``progress`` (None: nothing acknowledged), ``name`` ("" if unknown)."""

    user: str
    stored_at: datetime | None
    direct: list[str] | None
    progress: Doc | None
    name: str


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


Strategy = Literal["auto", "lookup", "merge"]

MERGE_FACTOR = 10
"""Merge when recipients × this ≥ the documents the merge would scan (see :meth:`Reports.merges`)."""


class Reports:
    """``strategy`` picks how a share's recipients are joined with their memberships, progress and
    names: ``"auto"`` (the rule of :meth:`merges`), or always ``"lookup"`` / ``"merge"`` (tests)."""

    def __init__(self, store: LearningStore, directory: DirectoryCopy, strategy: Strategy = "auto") -> None:
        self._store = store
        self._directory = directory
        self._strategy = strategy

    async def merges(self, share_id: str, names: bool) -> bool:
        """Whether to merge-join rather than look up bucket by bucket (``names``: for the CSV).

        Lookup: per bucket of ≤ 1,000 recipients, one ``_id $in`` query per joined collection; it costs
        per document found, so it grows with the recipients only. Merge: the recipients sorted by user id
        (by the database), each joined collection read in ``_id`` order from the first recipient on and
        walked alongside (:func:`learnloop_shared.merge.merge_join`); it costs per document scanned, and
        the directory copy (memberships, and users' names for the CSV) is scanned whatever the audience.
        A document scanned is several times cheaper than one looked up, so the merge wins unless the
        directory holds far more people than the share has recipients: merge when recipients ×
        :data:`MERGE_FACTOR` ≥ the directory documents it would scan (collection estimates, no count).
        Both give the same report; only the CSV's row order differs (bucket order vs user id order).
        """
        if self._strategy != "auto":
            return self._strategy == "merge"
        recipients = await self._store.audience.count(share_id)
        return recipients > 0 and recipients * MERGE_FACTOR >= await self._directory.scanned_by_merge(names)

    async def share_report(self, share: Doc, reader: str) -> ShareReport | None:
        """The author's report, or a manager's (rows of the teams they manage and those nested under
        them; totals over recipients in those teams). None when the reader may not see any of it."""
        graph = await self._directory.graph()
        visible = None if rules.can_read_feedback_as(reader, share["author_id"]) else graph.managed_by(reader)
        if visible is not None and not visible:
            return None  # manages no team: no need to read the audience
        report = TeamReport(visible)
        now = utcnow()
        async with aclosing(self._recipients(share["_id"], visible, names=False)) as recipients:
            async for r in recipients:
                if visible is None or r.direct is not None:
                    report.add(graph.teams_of(r.direct or ()), facts_of(r.progress, share, r.stored_at, now))
        if visible is not None and report.totals.recipients == 0:
            return None  # none of their teams received it
        return ShareReport(report.totals.as_dict(), report.rows(graph.name))

    async def csv_chunks(self, share: Doc) -> AsyncIterator[str]:
        """The export as CSV text: the header, then chunks of up to :data:`CSV_CHUNK` rows, one per
        recipient (in bucket order, or by user id when merged: the order is not part of the contract)."""
        graph = await self._directory.graph()
        now = utcnow()
        yield export.lines([export.COLUMNS])
        rows: list[list[str]] = []
        async with aclosing(self._recipients(share["_id"], None, names=True)) as recipients:
            async for r in recipients:
                facts = facts_of(r.progress, share, r.stored_at, now)
                rows.append(export.row(r.user, r.name, graph.teams_of(r.direct or ()), r.stored_at, facts))
                if len(rows) == CSV_CHUNK:
                    yield export.lines(rows)
                    rows = []
        if rows:
            yield export.lines(rows)

    async def _recipients(
        self, share_id: str, visible: Collection[str] | None, names: bool
    ) -> AsyncGenerator[Recipient]:
        """Every recipient of the share once, joined (``visible``: a manager's teams; ``names``: for the CSV)."""
        if await self.merges(share_id, names):
            joined = self._merged(share_id, visible, names)
        else:
            joined = self._looked_up(share_id, visible, names)
        async with aclosing(joined) as recipients:
            async for r in recipients:
                yield r

    async def _looked_up(
        self, share_id: str, visible: Collection[str] | None, names: bool
    ) -> AsyncGenerator[Recipient]:
        """The recipients in bucket order, joined per bucket by ``_id $in`` lookups. With ``visible``,
        only memberships in those teams are read, and progress only of recipients who have one."""
        async for bucket in self._store.audience.with_stored_at(share_id):
            users: list[str] = bucket["users"]
            at = bucket.get("stored_at")
            # A manager's teams are closed under nesting: a recipient belongs to one of them iff one of
            # their DIRECT teams is one of them, so only those memberships (and their progress) are read.
            direct = await self._directory.direct_teams(users, visible)
            counted = users if visible is None else [u for u in users if u in direct]
            progress = await self._store.progress_of(share_id, counted)
            named = await self._directory.names(users) if names else {}
            for u in users:
                yield Recipient(u, at, _direct(direct.get(u), visible), progress.get(u), named.get(u) or "")

    async def _merged(self, share_id: str, visible: Collection[str] | None, names: bool) -> AsyncGenerator[Recipient]:
        """The recipients by user id, merge-joined with streams sorted the same way."""
        prefix = len(f"{share_id}|")

        def progress_key(doc: Doc) -> str:
            # The ``_id`` the stream is sorted by (``<share_id>|<user_id>``), not a field that could differ.
            return str(doc["_id"])[prefix:]

        sides: list[Side[Doc]] = [
            Side(lambda first: self._directory.sorted_memberships(first, visible), _id),
            Side(lambda first: self._store.sorted_progress(share_id, first), progress_key),
        ]
        if names:
            sides.append(Side(self._directory.sorted_names, _id))
        joined = merge_join(self._store.audience.sorted_recipients(share_id), _user, sides)
        async with aclosing(joined) as rows:
            async for r, (membership, progress, *named) in rows:
                direct = list(membership.get("teams", ())) if membership is not None else None
                name = named[0].get("name") if named and named[0] is not None else None
                yield Recipient(r["user"], r.get("stored_at"), _direct(direct, visible), progress, name or "")

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


def _direct(teams: list[str] | None, visible: Collection[str] | None) -> list[str] | None:
    """A recipient's direct teams as the author sees them; for a manager, None unless in one of theirs."""
    if visible is None or teams is None:
        return teams
    return teams if any(t in visible for t in teams) else None


def _id(doc: Doc) -> str:
    return str(doc["_id"])


def _user(doc: Doc) -> str:
    return str(doc["user"])


def _newest(docs: Iterable[Doc], n: int) -> list[Doc]:
    """The ``n`` newest of ``{share_id, delivered_at}`` documents, each share once (newest first, then id
    descending, the order of the list's cursor)."""
    unique = {d["share_id"]: d for d in docs}
    return sorted(unique.values(), key=lambda d: (d["delivered_at"], d["share_id"]), reverse=True)[:n]
