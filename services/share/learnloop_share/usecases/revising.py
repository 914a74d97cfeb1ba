"""Revising and retracting a share, each with its event through the outbox in the same transaction.

A revision is written only over the revision it was made from (see ``Shares.revise``) and its event id is
derived from (share, revision): two concurrent revisions can never both become revision N — the one that
finds the share moved on reads it again and becomes N + 1. A retraction is final and happens once: a second
one answers the retracted share and emits nothing.
"""

from __future__ import annotations

from typing import Any

from learnloop_shared.documents import Doc
from learnloop_shared.events import ShareRetracted, ShareRevised, make_event, stable_event_id, utcnow
from learnloop_shared.outbox import Outbox, retry_transient

from ..domain.schedule import reminder_plan
from ..domain.shares import Share, SharePatch, ShareStatus
from ..storage.shares import Shares, to_share

# Revisions racing for the same share: each attempt that loses re-reads the share; this many give up.
MAX_ATTEMPTS = 50
# The stored share lists its revisions: bounded, like every list.
MAX_REVISIONS = 1000


class ShareGone(Exception):
    """The share does not exist."""


class ShareIsRetracted(Exception):
    """The share was retracted: it can no longer be revised."""


class TooManyRevisions(Exception):
    """The share reached :data:`MAX_REVISIONS`."""


class RevisionConflict(Exception):
    """Other revisions kept winning the race for the share: the caller may try again."""


class _MovedOn(Exception):
    """The share changed between reading it and writing the revision (internal: retried)."""


def patch_fields(patch: SharePatch) -> Doc:
    """The stored fields a patch sets."""
    fields: Doc = {}
    for name in patch.changed():
        value: Any = getattr(patch, name)
        if name == "url":
            value = str(value) if value is not None else None
        elif name == "reminders":
            value, fields["reminder_offsets_s"] = reminder_plan(value)
        fields[name] = value
    return fields


class ShareRevisions:
    def __init__(self, shares: Shares, outbox: Outbox, topic: str, source: str) -> None:
        self._shares = shares
        self._outbox = outbox
        self._topic = topic
        self._source = source

    async def revise(self, share_id: str, patch: SharePatch) -> Share:
        for _ in range(MAX_ATTEMPTS):
            try:
                return await self._revise_once(share_id, patch)
            except _MovedOn:
                continue
        raise RevisionConflict(share_id)

    @retry_transient
    async def _revise_once(self, share_id: str, patch: SharePatch) -> Share:
        doc = await self._shares.get(share_id)
        if doc is None:
            raise ShareGone(share_id)
        if doc["status"] == ShareStatus.retracted.value:
            raise ShareIsRetracted(share_id)
        revision, fields, now = int(doc.get("revision", 1)), patch_fields(patch), utcnow()
        if revision >= MAX_REVISIONS:
            raise TooManyRevisions(share_id)
        new = {**doc, **fields}
        event = make_event(
            ShareRevised(
                share_id=share_id,
                author_id=doc["author_id"],
                revision=revision + 1,
                title=new["title"],
                summary=new.get("summary"),
                url=new.get("url"),
                topics=tuple(new.get("topics", [])),
                requires=new.get("requires", "learned"),
                due_at=new.get("due_at"),
                reminders=tuple(new.get("reminders", [])),
                reconfirm=patch.reconfirm,
                changed=patch.changed(),
                published_at=doc["created_at"],
                revised_at=now,
            ),
            source=self._source,
            subject=share_id,
            event_id=stable_event_id("share.revised", share_id, str(revision + 1)),
        )
        async with self._outbox.transaction() as tx:
            updated = await self._shares.revise(share_id, revision, fields, now, session=tx.session)
            if updated is None:
                raise _MovedOn()
            tx.emit(self._topic, share_id, event)
        if tx.duplicate:  # revision + 1 was taken by a concurrent revision: read the share again
            raise _MovedOn()
        return to_share(updated)

    @retry_transient
    async def retract(self, share_id: str) -> Share:
        doc = await self._shares.get(share_id)
        if doc is None:
            raise ShareGone(share_id)
        if doc["status"] == ShareStatus.retracted.value:
            return to_share(doc)
        now = utcnow()
        event = make_event(
            ShareRetracted(share_id=share_id, author_id=doc["author_id"], title=doc["title"], retracted_at=now),
            source=self._source,
            subject=share_id,
            event_id=stable_event_id("share.retracted", share_id),
        )
        try:
            async with self._outbox.transaction() as tx:
                updated = await self._shares.retract(share_id, now, session=tx.session)
                if updated is None:
                    raise _MovedOn()
                tx.emit(self._topic, share_id, event)
        except _MovedOn:
            updated = None
        if updated is None or tx.duplicate:  # retracted concurrently: answer the share as it is
            again = await self._shares.get(share_id)
            if again is None:
                raise ShareGone(share_id) from None
            return to_share(again)
        return to_share(updated)
