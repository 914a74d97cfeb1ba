"""What a reminder round does once a runner holds it (see ``jobs/rounds.py``), and the author's
"remind now".

Invariants:

- Each batch of recipients is reminded by one ``LearningReminded`` stored through the outbox in the SAME
  transaction as the round's checkpoint moving past that batch (see ``storage/rounds.py``). A runner that
  dies mid-round leaves the checkpoint at the last committed batch; the next runner resumes there — no
  batch is lost or sent twice.
  Event ids are stable per (round, batch) as well, so a re-published batch is recognised downstream.
- The checkpoint only moves from the position this runner last wrote and only while it holds the lease
  (:class:`~..storage.rounds.LeaseLost` otherwise): a round taken over or cancelled meanwhile stops.
- Memory is flat: recipients are streamed a bucket (≤ 1,000 ids) at a time, never loaded at once.
- Who counts as reminded is decided per batch, when the batch runs: a recipient who completed before
  their batch was reached gets nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from learnloop_shared.documents import Doc
from learnloop_shared.events import Envelope, LearningOverdue, LearningReminded, make_event, utcnow
from learnloop_shared.outbox import Outbox, retry_transient

from ..domain.follow_through import confirm_cycle
from ..domain.rounds import (
    BUCKET_REASONS,
    Position,
    batch_size,
    chunks_from,
    manual_round_id,
    overdue_event_id,
    pending_users,
    previous_cycle_start,
    reminded_event_id,
    retry_after_s,
    revised_event_id,
)
from ..storage.rounds import RoundStore

log = logging.getLogger(__name__)


class TooSoon(Exception):
    """The author asked for a reminder less than the interval after the last one."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class Retracted(Exception):
    """The share was retracted: nothing more is sent for it."""


@dataclass(frozen=True)
class RoundSettings:
    lease_s: float = 30.0
    batch: int = 1000  # recipients per LearningReminded at most (and per checkpoint)
    manual_interval_s: float = 3600.0


class Reminding:
    def __init__(self, store: RoundStore, outbox: Outbox, topic: str, source: str, settings: RoundSettings) -> None:
        self._store = store
        self._outbox = outbox
        self._topic = topic
        self._source = source
        self._settings = settings
        self._batch = batch_size(settings.batch)
        self._renewed: dict[str, float] = {}  # round id → when this process last renewed its lease

    # --- running a claimed round -----------------------------------------------------------------
    async def run(self, rnd: Doc, owner: str) -> None:
        """Run a round ``owner`` holds to its end. Raises ``LeaseLost`` if it stops being ours."""
        share = await self._store.share(rnd["share_id"])
        if share is None:  # plans are made from stored shares: only a deleted database gets here
            log.warning("round %s: share %s is unknown; ending it", rnd["_id"], rnd["share_id"])
            await self._store.finish(rnd["_id"], owner, utcnow(), skipped="unknown share")
            return
        if share.get("status") == "retracted":
            await self._store.cancel(rnd["_id"], owner, utcnow(), "retracted")
            return
        reason = rnd.get("reason")
        if reason in BUCKET_REASONS:
            await self._remind_pending(rnd, share, owner)
        elif reason == "revised":
            await self._ask_to_reconfirm(rnd, share, owner)
        elif reason == "overdue":
            await self._overdue(rnd, share, owner)
        else:
            log.warning("round %s: unknown reason %r; ending it", rnd["_id"], reason)
            await self._store.finish(rnd["_id"], owner, utcnow(), skipped=f"unknown reason {reason!r}")

    async def _remind_pending(self, rnd: Doc, share: Doc, owner: str) -> None:
        """scheduled/manual: every recipient who has not completed, bucket by bucket in ``_id`` order."""
        share_id, round_id = share["_id"], rnd["_id"]
        confirm = confirm_cycle(share)
        ck = await self._store.position(round_id)
        pos = Position(ck.get("after_bucket"), int(ck.get("after_offset") or 0))
        async for bucket in self._store.buckets_from(share_id, pos):
            for offset, users in chunks_from(bucket["_id"], bucket["users"], pos, self._batch):
                completed = await self._store.completed_among(share_id, users, confirm)
                pending = pending_users(users, completed)
                nxt = Position(bucket["_id"], offset + len(users))
                event = self._reminded(rnd, share, pending, reminded_event_id(round_id, bucket["_id"], offset))
                await self._commit(round_id, owner, _bucket_fields(pos), _bucket_fields(nxt), len(pending), event)
                await self._keep(round_id, owner)
                pos = nxt
        await self._store.finish(round_id, owner, utcnow())

    async def _ask_to_reconfirm(self, rnd: Doc, share: Doc, owner: str) -> None:
        """revised: recipients whose latest completion fell in the confirm cycle this revision ends."""
        share_id, round_id = share["_id"], rnd["_id"]
        revision = int(rnd.get("revision") or share.get("revision") or 1)
        if confirm_cycle(share) > revision:  # a later revision asks them again itself
            await self._store.cancel(round_id, owner, utcnow(), "superseded")
            return
        low, high = previous_cycle_start(share.get("revisions", []), revision), revision - 1
        after: str | None = (await self._store.position(round_id)).get("after_progress")
        while high >= low:
            docs = await self._store.completed_before(share_id, after, low, high, self._batch)
            if not docs:
                break
            users = [d["user_id"] for d in docs]
            event = self._reminded(rnd, share, users, revised_event_id(round_id, docs[0]["_id"]))
            last = docs[-1]["_id"]
            await self._commit(round_id, owner, {"after_progress": after}, {"after_progress": last}, len(users), event)
            await self._keep(round_id, owner)
            after = last
            if len(docs) < self._batch:
                break
        await self._store.finish(round_id, owner, utcnow())

    async def _overdue(self, rnd: Doc, share: Doc, owner: str) -> None:
        """One notice to the author if the share still has this due time and anyone has not completed."""
        round_id, due = rnd["_id"], rnd["due"]
        if share.get("due_at") != due:
            await self._store.finish(round_id, owner, utcnow(), skipped="due time changed")
            return
        recipients, not_completed = await self._store.not_completed(share)
        now = utcnow()
        event = None
        if not_completed:
            data = LearningOverdue(
                share_id=share["_id"],
                author_id=share["author_id"],
                title=share["title"],
                topics=tuple(share.get("topics") or ()),
                requires=share.get("requires") or "learned",
                due_at=due,
                revision=int(share.get("revision") or 1),
                recipients=recipients,
                not_completed=not_completed,
                at=now,
            )
            event = make_event(
                data, source=self._source, subject=share["_id"], event_id=overdue_event_id(share["_id"], due)
            )
        await self._finish_with(round_id, owner, event, recipients=recipients, not_completed=not_completed)

    # --- one unit of work per batch ----------------------------------------------------------------
    @retry_transient
    async def _commit(
        self, round_id: str, owner: str, before: Doc, after: Doc, reminded: int, event: Envelope[Any] | None
    ) -> None:
        async with self._outbox.transaction() as tx:
            await self._store.checkpoint(round_id, owner, before, after, reminded, tx.session)
            if event is not None:
                tx.emit(self._topic, event.data.share_id, event)
        if tx.duplicate:  # this batch's event was stored before: move on without it
            log.warning("round %s: batch event %s existed already", round_id, event.id if event else None)
            await self._commit(round_id, owner, before, after, 0, None)

    @retry_transient
    async def _finish_with(self, round_id: str, owner: str, event: Envelope[Any] | None, **fields: Any) -> None:
        """Store the round's one event (its id is stable: stored before means sent before), then end it."""
        if event is not None:
            async with self._outbox.transaction() as tx:
                tx.emit(self._topic, event.data.share_id, event)
        await self._store.finish(round_id, owner, utcnow(), **fields)

    async def _keep(self, round_id: str, owner: str) -> None:
        """Renew the lease once a third of it has passed (after a checkpoint). ``LeaseLost`` if the round
        was cancelled or taken over meanwhile."""
        now = time.monotonic()
        if now - self._renewed.get(round_id, 0.0) >= self._settings.lease_s / 3:
            await self._store.renew(round_id, owner, self._settings.lease_s, utcnow())
            self._renewed = {round_id: now}

    def _reminded(self, rnd: Doc, share: Doc, users: list[str], event_id: str) -> Envelope[Any] | None:
        if not users:
            return None
        data = LearningReminded(
            round_id=rnd["_id"],
            share_id=share["_id"],
            author_id=share["author_id"],
            title=share["title"],
            url=share.get("url"),
            topics=tuple(share.get("topics") or ()),
            requires=share.get("requires") or "learned",
            due_at=share.get("due_at"),
            revision=int(share.get("revision") or 1),
            reason=rnd["reason"],
            recipient_ids=tuple(users),
            reminded_at=utcnow(),
        )
        return make_event(data, source=self._source, subject=share["_id"], event_id=event_id)

    # --- the author's "remind now" -----------------------------------------------------------------
    async def remind_now(self, share: Doc) -> int:
        """Plan a manual round due now; returns how many recipients have not completed (it reminds them).
        At most once per ``manual_interval_s`` per share (:class:`TooSoon`); :class:`Retracted` after a
        retraction."""
        now = utcnow()
        interval = self._settings.manual_interval_s
        round_doc: Doc = {
            "_id": manual_round_id(share["_id"], now),
            "share_id": share["_id"],
            "reason": "manual",
            "due": now,
            "revision": int(share.get("revision") or 1),
            "state": "planned",
            "created_at": now,
        }
        if not await self._store.start_manual(share["_id"], now, interval, round_doc):
            current = await self._store.share(share["_id"]) or share
            if current.get("status") == "retracted":
                raise Retracted(share["_id"])
            raise TooSoon(max(1, retry_after_s(current.get("last_manual_reminder_at"), now, interval)))
        _, pending = await self._store.not_completed(share)
        return pending


def _bucket_fields(pos: Position) -> Doc:
    if pos.bucket is None:
        return {"after_bucket": None}  # also matches a round that has no checkpoint yet
    return {"after_bucket": pos.bucket, "after_offset": pos.offset}
