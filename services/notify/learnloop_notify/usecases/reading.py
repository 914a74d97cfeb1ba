"""The inbox as users read it: each notification joined with its share's current state.

Retracted shares are filtered by joining, not by a query on ``share_id``: the notifications collection
keeps its single index (user, time), because every index is paid for on each of the many inserts of a
fan-out, and a set of all retracted share ids would grow without bound. So a page is read in batches
from the user's range of that index, each batch joined (one ``$in`` over its share ids, cached briefly
per process) and retracted ones dropped, until the page is full. At most :data:`MAX_SCANNED` documents
are read per request: a page can then come back short, with a ``next_cursor`` after the last document
read, so a user with very many notifications of retracted shares never makes one request slow.
The unread count groups the user's unread notifications by share and leaves out retracted shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from learnloop_shared.mongo import After, Doc

from ..domain.notifications import with_share_state
from ..storage.inbox import Inbox
from ..storage.share_states import ShareStates

MAX_SCANNED = 2000


@dataclass(frozen=True)
class PageRead:
    docs: list[Doc]  # up to limit + 1, joined; the extra one says there is more
    resume: After | None  # where the next page starts if docs came back short but more may follow


class InboxView:
    def __init__(self, inbox: Inbox, shares: ShareStates) -> None:
        self._inbox = inbox
        self._shares = shares

    async def page(
        self,
        user_id: str,
        unread_only: bool,
        after: After | None,
        limit: int,
        include_hidden: bool = False,
        include_retracted: bool = False,
    ) -> PageRead:
        want = limit + 1
        out: list[Doc] = []
        position, scanned = after, 0
        while True:
            batch = await self._inbox.page(user_id, unread_only, position, want, include_hidden)
            states = await self._shares.current(d["share_id"] for d in batch)
            for d in batch:
                shown = with_share_state(d, states.get(d["share_id"]))
                if include_retracted or shown.get("retracted_at") is None:
                    out.append(shown)
            scanned += len(batch)
            if len(out) >= want or len(batch) < want:
                return PageRead(out[:want], None)
            position = (batch[-1]["created_at"], batch[-1]["_id"])
            if scanned >= MAX_SCANNED:
                return PageRead(out, position)

    async def unread_count(self, user_id: str, include_retracted: bool = False) -> int:
        if include_retracted:
            return await self._inbox.unread_count(user_id)
        per_share = await self._inbox.unread_by_share(user_id)
        states = await self._shares.current(per_share)
        return sum(n for sid, n in per_share.items() if states.get(sid, {}).get("retracted_at") is None)

    async def shown(self, doc: Doc) -> Doc:
        """One notification as it is shown now (live stream, mark read)."""
        states = await self._shares.current([doc["share_id"]])
        return with_share_state(doc, states.get(doc["share_id"]))
