"""The author's dashboard list: the caller's shares newest first, each with the counts of its feedback."""

from __future__ import annotations

import asyncio

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import After, Doc

from ..domain.checks import has_checks
from ..domain.dashboard import AuthorShare, author_share
from ..domain.follow_through import confirm_cycle, split_counts
from ..storage.dashboard import AuthorShares
from ..storage.learning import LearningStore

CONCURRENT_ROWS = 4  # shares counted at once: a page's counts must not crowd out other requests


class AuthorDashboard:
    def __init__(self, store: LearningStore, shares: AuthorShares) -> None:
        self._store = store
        self._shares = shares

    async def page(self, author_id: str, after: After | None, limit: int) -> list[Doc]:
        """Up to ``limit`` of the author's shares after ``after``, as documents with ``_id``,
        ``published_at`` (the page's sort key) and ``row`` (the :class:`AuthorShare`)."""
        docs = await self._shares.page(author_id, after, limit)
        gate = asyncio.Semaphore(CONCURRENT_ROWS)

        async def row(share: Doc) -> Doc:
            async with gate:
                return {"_id": share["_id"], "published_at": share["published_at"], "row": await self.row(share)}

        return list(await asyncio.gather(*(row(s) for s in docs)))

    async def row(self, share: Doc) -> AuthorShare:
        """The same counts as ``GET /v1/shares/{id}/feedback`` (current confirm cycle), and ``passed``."""
        sid, cycle = share["_id"], confirm_cycle(share)
        counts, _ = await self._store.counts(sid, cycle)
        recipients = await self._store.recipient_count(sid)
        completed = await self._store.completed_count(sid, cycle)
        passed = await self._shares.passed_count(sid) if has_checks(share) else 0
        split = split_counts(recipients, completed, share.get("due_at"), utcnow())
        return author_share(share, {**counts, **split, "recipients": recipients, "passed": passed})
