"""MongoDB plumbing: the client, duplicate-tolerant bulk inserts, chunked ``$in`` reads, keyset pages,
transactions. Only ``storage/`` modules (and the shared outbox) use it: MongoDB stays behind repositories."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, UpdateOne, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.command_cursor import AsyncCommandCursor
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from .documents import Doc
from .settings import ServiceSettings

__all__ = ["Doc"]  # re-exported for storage modules
T = TypeVar("T")
DUPLICATE_KEY = 11000
IN_CHUNK = 1000  # values per ``$in`` query: keeps each query document small whatever the caller passes
STREAM_BATCH = 1000  # documents per batch of a long sorted read (a stream for a merge join)
After = tuple[datetime, str]
"""A keyset position in a newest-first list: the (time, id) of the last item already returned."""


def create_client(
    settings: ServiceSettings, event_listeners: Sequence[monitoring.CommandListener] = ()
) -> AsyncMongoClient[Doc]:
    return AsyncMongoClient(
        settings.mongo_url.get_secret_value(),
        tz_aware=True,
        appname=f"learnloop-{settings.service_name}",
        serverSelectionTimeoutMS=5000,
        event_listeners=list(event_listeners),
    )


async def insert_many_new(
    coll: AsyncCollection[Doc], docs: Sequence[Doc], session: AsyncClientSession | None = None
) -> int:
    """Insert unordered; documents whose unique key already exists are skipped. Returns how many were new."""
    if not docs:
        return 0
    try:
        result = await coll.insert_many(list(docs), ordered=False, session=session)
        return len(result.inserted_ids)
    except BulkWriteError as exc:
        duplicates = duplicates_only(exc)
        if duplicates is None:
            raise
        return int(exc.details.get("nInserted", len(docs) - len(duplicates)))


def duplicates_only(exc: BulkWriteError) -> set[int] | None:
    """The positions of the writes refused as duplicates, or None if anything else failed too."""
    errors = exc.details.get("writeErrors", [])
    if any(e.get("code") != DUPLICATE_KEY for e in errors):
        return None
    return {int(e["index"]) for e in errors}


async def upsert_many(coll: AsyncCollection[Doc], ops: Sequence[UpdateOne]) -> None:
    """Unordered upserts; one that lost a race to insert the same _id is fine: the document exists."""
    if not ops:
        return
    try:
        await coll.bulk_write(list(ops), ordered=False)
    except BulkWriteError as exc:
        if duplicates_only(exc) is None:
            raise


async def find_in(
    coll: AsyncCollection[Doc],
    field: str,
    values: Iterable[Any],
    query: Doc | None = None,
    projection: Doc | None = None,
) -> AsyncIterator[Doc]:
    """Documents whose ``field`` is one of ``values`` (and that match ``query``), read :data:`IN_CHUNK`
    values per query."""
    wanted = list(values)
    for i in range(0, len(wanted), IN_CHUNK):
        async for doc in coll.find({**(query or {}), field: {"$in": wanted[i : i + IN_CHUNK]}}, projection):
            yield doc


async def in_id_order(cursor: AsyncCursor[Doc]) -> AsyncIterator[Doc]:
    """The cursor's documents in ``_id`` order, :data:`STREAM_BATCH` per batch, for a reader that may stop
    early: the cursor is closed however the iteration ends."""
    # Walking the ``_id`` index keeps the read streaming: with another filter (teams, say) the planner
    # could pick that field's index and sort everything in memory before the first document.
    async for doc in streamed(cursor.sort("_id", 1).hint([("_id", 1)]).batch_size(STREAM_BATCH)):
        yield doc


async def streamed(cursor: AsyncCursor[Doc] | AsyncCommandCursor[Doc]) -> AsyncIterator[Doc]:
    """The cursor's documents; the cursor is closed however the iteration ends (also when the reader
    stops early and closes this generator)."""
    try:
        async for doc in cursor:
            yield doc
    finally:
        await cursor.close()


def ids_under(prefix: str) -> Doc:
    """The ``_id`` range of documents whose id starts with ``"<prefix>|"`` (``"}"`` sorts right after ``"|"``)."""
    return {"$gte": f"{prefix}|", "$lt": f"{prefix}}}"}


def newest_first_after(after: After | None, time_field: str, id_field: str = "_id") -> Doc:
    """The filter for items strictly after ``after`` in (time desc, id desc) order; ``{}`` for the first page."""
    if after is None:
        return {}
    at, id_ = after
    return {"$or": [{time_field: {"$lt": at}}, {time_field: at, id_field: {"$lt": id_}}]}


def is_duplicate(exc: BaseException) -> bool:
    """A unique key refused the write: one document, or every refused one of a bulk write (the outbox
    stores its entries with ``insert_many``, so an event id stored before arrives as a bulk error)."""
    if isinstance(exc, BulkWriteError):
        return bool(exc.details.get("writeErrors")) and duplicates_only(exc) is not None
    return isinstance(exc, DuplicateKeyError) or (isinstance(exc, OperationFailure) and exc.code == DUPLICATE_KEY)


async def in_transaction(client: AsyncMongoClient[Doc], work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
    """Run ``work`` in a transaction; retried by the driver on transient transaction errors."""
    async with client.start_session() as session:
        return await session.with_transaction(work)


async def ping(client: AsyncMongoClient[Doc]) -> bool:
    try:
        await client.admin.command("ping")
        return True
    except Exception:
        return False
