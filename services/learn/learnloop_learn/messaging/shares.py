"""Share events from ``learnloop.shares`` (published, revised, retracted, built on), handed to
:mod:`..usecases.following`. Events of one share share a partition, so they come in order."""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.documents import Doc
from learnloop_shared.events import ShareBuiltOn, SharePublished, ShareRetracted, ShareRevised
from learnloop_shared.kafka.consumers import Received

from ..domain.checks import check_fields
from ..domain.shares import new_share
from ..usecases.following import FollowShares, Revision


class ShareHandlers:
    def __init__(self, following: FollowShares) -> None:
        self._following = following

    async def on_published(self, batch: Sequence[Received]) -> None:
        shares: dict[str, Doc] = {}
        for item in batch:
            d: SharePublished = item.event.data
            shares[d.share_id] = new_share(
                d.share_id, d.author_id, d.title, d.url, d.topics, d.published_at, d.requires, d.due_at, d.reminders
            ) | check_fields([c.model_dump() for c in d.checks], d.pass_mark, d.max_attempts)
        await self._following.published(list(shares.values()))

    async def on_revised(self, batch: Sequence[Received]) -> None:
        for item in batch:  # in order: a later revision of the same share must come after the earlier one
            d: ShareRevised = item.event.data
            fields: Doc = {
                "title": d.title,
                "url": d.url,
                "topics": list(d.topics),
                "requires": d.requires,
                "due_at": d.due_at,
                "reminders": list(d.reminders),
            }
            await self._following.revised(Revision(d.share_id, d.revision, fields, d.revised_at, d.reconfirm))

    async def on_retracted(self, batch: Sequence[Received]) -> None:
        for item in batch:
            d: ShareRetracted = item.event.data
            await self._following.retracted(d.share_id, d.retracted_at)

    async def on_built_on(self, batch: Sequence[Received]) -> None:
        pairs = []
        for item in batch:
            d: ShareBuiltOn = item.event.data
            pairs.append((d.share_id, d.by_share_id, d.built_at))
        await self._following.built_on(pairs)
