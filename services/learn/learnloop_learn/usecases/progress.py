"""Each recipient's progress on a share, for its author: every recipient once, in recipient-bucket order.

A page position is (bucket id, index of the next recipient in that bucket): buckets never change once
stored and are read in ``_id`` order, so a position stays valid while more recipients arrive (new
buckets of a share sort after or before it by id; those before a position are not shown on later pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from learnloop_shared.documents import Doc
from learnloop_shared.events import utcnow

from ..domain.follow_through import Status, confirm_cycle, is_completed, reminders_sent, status_of
from ..storage.learning import LearningStore

Position = tuple[str, int]


@dataclass(frozen=True)
class RecipientProgress:
    user_id: str
    status: Status
    acknowledged: list[str]
    completed_at: datetime | None
    reminders_sent: int
    completed_revisions: list[int]


class ProgressReport:
    def __init__(self, store: LearningStore) -> None:
        self._store = store

    async def page(
        self, share: Doc, start: Position | None, limit: int, status: Status | None
    ) -> tuple[list[RecipientProgress], Position | None]:
        """Up to ``limit`` recipients from ``start`` (with ``status`` only, if given), and where the next
        page starts (None: this was the last)."""
        sid = share["_id"]
        cycle = confirm_cycle(share)
        due_at = share.get("due_at")
        now = utcnow()
        starts = await self._store.rounds.reminder_starts(sid)
        items: list[RecipientProgress] = []
        first_bucket, skip = start if start else (None, 0)
        async for bucket in self._store.audience.buckets_from(sid, first_bucket):
            offset = skip if bucket["_id"] == first_bucket else 0
            users: list[str] = bucket["users"][offset:]
            progress = await self._store.progress_of(sid, users)
            for i, user in enumerate(users, start=offset):
                p = progress.get(user, {})
                done = is_completed(p.get("last_completed_revision"), cycle)
                item = RecipientProgress(
                    user_id=user,
                    status=status_of(done, due_at, now),
                    acknowledged=list(p.get("acknowledged", [])) if p.get("cycle", 1) == cycle else [],
                    completed_at=p.get("completed_at") if done else None,
                    reminders_sent=reminders_sent(starts, p.get("completed_at"), done),
                    completed_revisions=[int(r) for r in p.get("completed_revisions", [])],
                )
                if status is not None and item.status != status:
                    continue
                if len(items) == limit:  # one more exists: the next page starts with it
                    return items, (bucket["_id"], i)
                items.append(item)
        return items, None
