"""Accepting a share: store it with its ``share.published`` event (outbox), once per idempotency key.

Used by the HTTP API and by share requests that other systems send over Kafka.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from learnloop_shared.documents import Doc
from learnloop_shared.events import Audience, SharePublished, make_event, stable_event_id, utcnow
from learnloop_shared.outbox import Outbox, retry_transient

from ..domain.shares import Share, ShareDraft, ShareStatus
from ..storage.directory import Directory
from ..storage.shares import Shares, to_share
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
            ),
            source=self._source,
            subject=share_id,
            event_id=stable_event_id("share.published", share_id),
        )
        async with self._outbox.transaction() as tx:
            await self._shares.insert(doc, session=tx.session)
            tx.emit(self._topic, share_id, event)
        if tx.duplicate:  # a concurrent request with the same key won
            existing = await self._existing(author_id, dedup)
            if existing is None:
                raise RuntimeError("a share was refused as a duplicate, but no share with its key exists")
            return self._replay(existing, fingerprint)
        return Accepted(to_share(doc), created=True)
