"""Following shares as they change: published, revised, retracted, built on — learn's copy of each share
and its round plan (see ``storage/shares.py`` and ``storage/round_plan.py``). Idempotent: events come again
after a restart, and every step here may run twice."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from learnloop_shared.documents import Doc

from ..storage.learning import LearningStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Revision:
    share_id: str
    revision: int
    fields: Doc  # title, url, topics, requires, due_at, reminders as they are at this revision
    revised_at: datetime
    reconfirm: bool


class FollowShares:
    def __init__(self, store: LearningStore) -> None:
        self._store = store

    async def published(self, shares: Sequence[Doc]) -> None:
        await self._store.states.published(shares)
        for doc in await self._store.states.many([s["_id"] for s in shares]):
            await self._store.rounds.plan(doc)

    async def revised(self, revision: Revision) -> None:
        changed = await self._store.states.revised(
            revision.share_id, revision.revision, revision.fields, revision.revised_at, revision.reconfirm
        )
        doc = await self._store.states.get(revision.share_id)
        if doc is None:  # never published here: nothing to follow
            log.warning("share %s revised before learn knew it", revision.share_id)
            return
        # Also when this revision was applied before (a replay): the plan follows the stored share, and a
        # crash between the two writes is healed.
        if doc.get("revision") == revision.revision:
            await self._store.rounds.revised(doc, revision.reconfirm)
        elif changed:
            log.info("share %s: revision %d applied", revision.share_id, revision.revision)

    async def retracted(self, share_id: str, at: datetime) -> None:
        await self._store.states.retracted(share_id, at)
        await self._store.rounds.cancel_all(share_id)

    async def built_on(self, pairs: Sequence[tuple[str, str, datetime]]) -> None:
        await self._store.states.built_on(pairs)
