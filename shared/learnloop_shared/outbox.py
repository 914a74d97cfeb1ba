"""Transactional outbox: an event is stored in the same transaction as the change it reports,
published right after the commit, and re-published by a relay if that first attempt failed.

A use case writes through one unit of work, which owns every step::

    async with outbox.transaction() as tx:
        await repository.insert(doc, session=tx.session)
        tx.emit(topic, key, event)
    if tx.duplicate: ...  # a unique key said this was written before: nothing was stored

On leaving the block the emitted events are stored in the same transaction, the transaction commits,
and only then are the events published (:meth:`Outbox.flush`). Consumers deduplicate by event id, so
the rare double publish (crash between send and mark) is harmless.

Right after a commit, the caller waits for the broker only: the entries are marked sent by one write
for all the entries published in the meantime, at most every ``MARK_INTERVAL_S`` (see
:meth:`Outbox.flush`). Marking each entry with its own write would cost the database about as much again
as the transaction that stored it. The relay only takes entries older than ``RELAY_AFTER`` (well past
that interval), so a mark still pending is not mistaken for a failed publish; a mark lost in a crash
means one publish more, which consumers ignore.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from .events.codec import encode
from .events.envelope import Envelope, utcnow
from .kafka.publisher import Publisher, event_headers
from .mongo import Doc, is_duplicate

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
# How long a use case is re-run after transient transaction errors (as PyMongo's with_transaction does).
TRANSIENT_RETRY_S = 120.0


class UnitOfWork:
    """One transaction: the session to write with, and the events to store with it and publish after it.

    ``duplicate`` is True after the block when a unique key refused a write (the transaction was aborted,
    nothing was stored or published). Any other error aborts the transaction and propagates.
    """

    def __init__(self, session: AsyncClientSession) -> None:
        self.session = session
        self.entries: list[Doc] = []
        self.duplicate = False

    def emit(self, topic: str, key: str | None, event: Envelope[Any]) -> None:
        self.entries.append(Outbox.entry(topic, key, event))


def retry_transient(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Re-run a use case whose transaction failed for a transient reason (a write conflict with a concurrent
    transaction), with jittered backoff, for up to :data:`TRANSIENT_RETRY_S`. The use case must only read
    before its :meth:`Outbox.transaction`, so that running it again is safe."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        start, attempt = time.monotonic(), 0
        while True:
            try:
                return await fn(*args, **kwargs)
            except PyMongoError as exc:
                attempt += 1
                backoff = random.random() * min(0.005 * 1.5**attempt, 0.5)  # noqa: S311 (jitter)
                transient = exc.has_error_label("TransientTransactionError")
                if not transient or time.monotonic() + backoff - start >= TRANSIENT_RETRY_S:
                    raise
                await asyncio.sleep(backoff)

    return run


MARK_INTERVAL_S = 0.2
RELAY_AFTER = timedelta(seconds=2)


class Outbox:
    def __init__(self, db: AsyncDatabase[Doc], publisher: Publisher, retain: timedelta = timedelta(days=3)) -> None:
        self._client = db.client
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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work: commits the block's writes with its emitted events, then publishes them.

        A commit whose result is unknown (a network error) is retried, as the driver's own
        ``with_transaction`` does; a transient failure of the whole transaction propagates (see
        :func:`retry_transient`).
        """
        async with self._client.start_session() as session:
            tx = UnitOfWork(session)
            await session.start_transaction()
            try:
                yield tx
                if tx.entries:
                    await self._coll.insert_many(tx.entries, session=session)
                await _commit(session)
            except BaseException as exc:
                if session.in_transaction:
                    await session.abort_transaction()
                if not is_duplicate(exc):
                    raise
                tx.duplicate, tx.entries = True, []
                return
        if tx.entries:
            await self.flush(tx.entries)

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


async def _commit(session: AsyncClientSession) -> None:
    start = time.monotonic()
    while True:
        try:
            await session.commit_transaction()
            return
        except PyMongoError as exc:
            unknown = exc.has_error_label("UnknownTransactionCommitResult")
            if not unknown or time.monotonic() - start >= TRANSIENT_RETRY_S:
                raise
