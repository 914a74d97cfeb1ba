"""Transactional outbox: an event is stored in the same transaction as the change it reports,
published right after the commit, and re-published by a relay if that first attempt failed.

Consumers deduplicate by event id, so the rare double publish (crash between send and mark) is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from .events.codec import encode
from .events.envelope import Envelope, utcnow
from .kafka.publisher import Publisher, event_headers
from .mongo import Doc

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, db: AsyncDatabase[Doc], publisher: Publisher, retain: timedelta = timedelta(days=3)) -> None:
        self._coll = db["outbox"]
        self._publisher = publisher
        self._retain = retain

    async def ensure_indexes(self) -> None:
        await self._coll.create_index([("sent_at", ASCENDING)], expireAfterSeconds=int(self._retain.total_seconds()))
        await self._coll.create_index([("sent", ASCENDING), ("created_at", ASCENDING)])

    @staticmethod
    def entry(topic: str, key: str | None, event: Envelope[Any]) -> Doc:
        return {
            "_id": event.id,
            "topic": topic,
            "key": key,
            "value": encode(event),
            "headers": [[k, v] for k, v in event_headers()],
            "created_at": utcnow(),
            "sent": False,
            "sent_at": None,
        }

    async def add(self, entries: list[Doc], session: AsyncClientSession | None = None) -> None:
        if entries:
            await self._coll.insert_many(entries, session=session)

    async def flush(self, entries: list[Doc]) -> bool:
        """Publish entries now (after their transaction committed). False if they stay for the relay."""
        try:
            for e in entries:
                await self._publisher.send_raw(e["topic"], e["key"], e["value"], [(k, v) for k, v in e["headers"]])
            if entries:
                await self._coll.update_many(
                    {"_id": {"$in": [e["_id"] for e in entries]}}, {"$set": {"sent": True, "sent_at": utcnow()}}
                )
            return True
        except Exception as exc:
            log.warning("outbox publish deferred to the relay: %r", exc)
            return False

    async def relay_once(self, older_than: timedelta = timedelta(seconds=2), limit: int = 500) -> int:
        cutoff = utcnow() - older_than
        pending = (
            await self._coll.find({"sent": False, "created_at": {"$lt": cutoff}})
            .sort("created_at", ASCENDING)
            .limit(limit)
            .to_list()
        )
        if pending and await self.flush(pending):
            log.info("outbox relay published %d events", len(pending))
            return len(pending)
        return 0

    async def resend(self, window: timedelta, page: int = 500) -> int:
        """Publish again every entry sent within ``window``, oldest first, for a broker that lost them.

        Re-sending sets ``sent_at`` to now, which moves an entry past ``until``: each is re-sent once.
        """
        until = utcnow()
        query: Doc = {"sent": True, "sent_at": {"$gte": until - window, "$lt": until}}
        count = 0
        while entries := await self._coll.find(query).sort("created_at", ASCENDING).limit(page).to_list():
            if not await self.flush(entries):
                raise RuntimeError("could not re-send the outbox to the new Kafka cluster")
            count += len(entries)
        return count

    async def relay_forever(self, interval_s: float = 1.0) -> None:
        while True:
            try:
                await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay failed: %r", exc)
            await asyncio.sleep(interval_s)
