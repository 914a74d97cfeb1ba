"""Accepting a share: store it with its ``share.published`` event (outbox), once per idempotency key.

Used by the HTTP API and by share requests that other systems send over Kafka.

``builds_on``: ids of shares that exist and are not retracted are kept (``builds_on``); the others are
reported in ``unknown_builds_on``, never an error. In the same transaction, one ``share.built_on`` event per
kept share tells its author — except when that author wrote the new share too: building on one's own share
notifies nobody.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from learnloop_shared.documents import Doc
from learnloop_shared.events import (
    Audience,
    Envelope,
    ShareBuiltOn,
    SharePublished,
    make_event,
    stable_event_id,
    utcnow,
)
from learnloop_shared.outbox import Outbox, retry_transient

from ..domain.schedule import reminder_plan
from ..domain.shares import Share, ShareDraft, ShareStatus
from ..storage.directory import Directory
from ..storage.shares import Shares, checks_of, to_share
from .audience import check_audience


class IdempotencyConflict(Exception):
    """The same idempotency key was used before for a different request."""


@dataclass(frozen=True)
class Accepted:
    share: Share
    created: bool


@dataclass(frozen=True)
class Dedup:
    """What makes a request unique: an author's Idempotency-Key, or a CloudEvent's source + id."""

    idempotency_key: str | None = None
    request_source: str | None = None
    request_id: str | None = None


class ShareIntake:
    def __init__(
        self,
        shares: Shares,
        directory: Directory,
        outbox: Outbox,
        topic: str,
        source: str,
    ) -> None:
        self._shares = shares
        self._directory = directory
        self._outbox = outbox
        self._topic = topic
        self._source = source

    async def _existing(self, author_id: str, dedup: Dedup) -> Doc | None:
        if dedup.idempotency_key:
            return await self._shares.by_idempotency_key(author_id, dedup.idempotency_key)
        if dedup.request_source and dedup.request_id:
            return await self._shares.by_request(dedup.request_source, dedup.request_id)
        return None

    def _replay(self, doc: Doc, fingerprint: str) -> Accepted:
        if doc.get("fingerprint") != fingerprint:
            raise IdempotencyConflict("this idempotency key was already used for a different share")
        return Accepted(to_share(doc), created=False)

    @retry_transient
    async def accept(self, draft: ShareDraft, author_id: str, dedup: Dedup = Dedup()) -> Accepted:
        fingerprint = draft.fingerprint(author_id)
        existing = await self._existing(author_id, dedup)
        if existing is not None:
            return self._replay(existing, fingerprint)

        checked = await check_audience(self._directory, draft.audience)
        referenced = await self._shares.referable(draft.builds_on)
        reminders, offsets = reminder_plan(draft.reminders)
        share_id = str(uuid.uuid4())
        now = utcnow()
        doc: Doc = {
            "_id": share_id,
            "author_id": author_id,
            "title": draft.title,
            "summary": draft.summary,
            "url": str(draft.url) if draft.url else None,
            "topics": draft.topics,
            "audience": checked.spec,
            "unknown_users": checked.unknown_users,
            "unknown_teams": checked.unknown_teams,
            "status": ShareStatus.accepted.value,
            "audience_size": None,
            "delivered": 0,
            "fanout": {"resolved": False, "last_recipient": None},
            "created_at": now,
            "fingerprint": fingerprint,
            "idempotency_key": dedup.idempotency_key,
            "request_source": dedup.request_source,
            "request_id": dedup.request_id,
            "requires": draft.requires,
            "due_at": draft.due_at,
            "reminders": reminders,
            "reminder_offsets_s": offsets,
            "builds_on": [s for s in draft.builds_on if s in referenced],
            "unknown_builds_on": [s for s in draft.builds_on if s not in referenced],
            "revision": 1,
            "revisions": [{"revision": 1, "at": now}],
            "retracted_at": None,
            # The answer key stays here and in learn: deliveries carry only ``has_checks`` (see deliveries.py).
            "checks": [c.model_dump(mode="json") for c in draft.checks],
            "pass_mark": draft.pass_mark,
            "max_attempts": draft.max_attempts,
        }
        event = make_event(
            SharePublished(
                share_id=share_id,
                author_id=author_id,
                title=draft.title,
                summary=draft.summary,
                url=doc["url"],
                topics=tuple(draft.topics),
                audience=Audience(**{k: tuple(v) for k, v in doc["audience"].items()}),
                published_at=now,
                requires=draft.requires,
                due_at=draft.due_at,
                reminders=tuple(reminders),
                builds_on=tuple(doc["builds_on"]),
                checks=tuple(checks_of(doc)),
                pass_mark=draft.pass_mark,
                max_attempts=draft.max_attempts,
            ),
            source=self._source,
            subject=share_id,
            event_id=stable_event_id("share.published", share_id),
        )
        built_on = self._built_on(doc, [referenced[s] for s in doc["builds_on"]], now)
        async with self._outbox.transaction() as tx:
            await self._shares.insert(doc, session=tx.session)
            tx.emit(self._topic, share_id, event)
            for ref_id, built in built_on:
                tx.emit(self._topic, ref_id, built)
        if tx.duplicate:  # a concurrent request with the same key won
            existing = await self._existing(author_id, dedup)
            if existing is None:
                raise RuntimeError("a share was refused as a duplicate, but no share with its key exists")
            return self._replay(existing, fingerprint)
        return Accepted(to_share(doc), created=True)

    def _built_on(self, doc: Doc, referenced: list[Doc], at: datetime) -> list[tuple[str, Envelope[Any]]]:
        """One ``share.built_on`` per referenced share of another author, keyed by the referenced share."""
        return [
            (
                ref["_id"],
                make_event(
                    ShareBuiltOn(
                        share_id=ref["_id"],
                        author_id=ref["author_id"],
                        title=ref["title"],
                        by_share_id=doc["_id"],
                        by_author_id=doc["author_id"],
                        by_title=doc["title"],
                        built_at=at,
                    ),
                    source=self._source,
                    subject=ref["_id"],
                    event_id=stable_event_id("share.built_on", ref["_id"], doc["_id"]),
                ),
            )
            for ref in referenced
            if ref["author_id"] != doc["author_id"]
        ]
