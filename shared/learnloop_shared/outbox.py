"""Transactional outbox: an event is stored in the same transaction as the change it reports,
published right after the commit, and re-published by a relay if that first attempt failed.

Consumers deduplicate by event id, so the rare double publish (crash between send and mark) is harmless.

Right after a commit, the caller waits for the broker only: the entries are marked sent by one write
for all the entries published in the meantime, at most every ``MARK_INTERVAL_S`` (see
:meth:`Outbox.flush`). Marking each entry with its own write would cost the database about as much again
as the transaction that stored it. The relay only takes entries older than ``RELAY_AFTER`` (well past
that interval), so a mark still pending is not mistaken for a failed publish; a mark lost in a crash
means one publish more, which consumers ignore.
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
MARK_INTERVAL_S = 0.2
RELAY_AFTER = timedelta(seconds=2)


class Outbox:
    def __init__(self, db: AsyncDatabase[Doc], publisher: Publisher, retain: timedelta = timedelta(days=3)) -> None:
        self._coll = db["outbox"]
        self._publisher = publisher
        self._retain = retain
        self._unmarked: list[Any] = []  # ids published by flush() and not marked sent yet
        self._marker: asyncio.Task[None] | None = None

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
        """Publish entries now (after their transaction committed). False if any stays for the relay.

        Returns once the broker has them (sent in the order given, so each partition keeps it); they
        are marked sent shortly after, together with the other entries published meanwhile.
        """
        sent = await self._send(entries)
        if sent:
            self._unmarked.extend(sent)
            if self._marker is None or self._marker.done():
                self._marker = asyncio.create_task(self._mark_unmarked(), name="outbox-marks")
        return len(sent) == len(entries)

    async def close(self) -> None:
        """Write the marks still pending (at shutdown)."""
        if self._marker is not None:
            await asyncio.gather(self._marker, return_exceptions=True)

    async def _mark_unmarked(self) -> None:
        while self._unmarked:
            ids, self._unmarked = self._unmarked, []
            try:
                await self._mark(ids)
            except Exception as exc:
                log.warning("outbox entries sent but not marked (the relay sends them again): %r", exc)
            if self._unmarked:
                await asyncio.sleep(MARK_INTERVAL_S)  # let the next ones gather

    async def _flush_and_mark(self, entries: list[Doc]) -> bool:
        """Publish entries and mark them sent before returning (the relay's and recovery's way)."""
        sent = await self._send(entries)
        if sent:
            await self._mark(sent)
        return len(sent) == len(entries)

    async def _mark(self, ids: list[Any]) -> None:
        await self._coll.update_many({"_id": {"$in": ids}}, {"$set": {"sent": True, "sent_at": utcnow()}})

    async def _send(self, entries: list[Doc]) -> list[Any]:
        """Send the entries in order and wait for the broker; returns the ids of those it acknowledged."""
        futures: list[asyncio.Future[Any]] = []
        try:
            for e in entries:
                headers = [(k, v) for k, v in e["headers"]]
                futures.append(await self._publisher.enqueue_raw(e["topic"], e["key"], e["value"], headers))
        except Exception as exc:
            log.warning("outbox publish of %d entries deferred to the relay: %r", len(entries) - len(futures), exc)
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            log.warning("outbox publish of %d entries deferred to the relay: %r", len(failed), failed[0])
        return [e["_id"] for e, r in zip(entries, results, strict=False) if not isinstance(r, BaseException)]

    async def relay_once(self, older_than: timedelta = RELAY_AFTER, limit: int = 500) -> int:
        cutoff = utcnow() - older_than
        pending = (
            await self._coll.find({"sent": False, "created_at": {"$lt": cutoff}})
            .sort("created_at", ASCENDING)
            .limit(limit)
            .to_list()
        )
        if pending and await self._flush_and_mark(pending):
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
            if not await self._flush_and_mark(entries):
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
