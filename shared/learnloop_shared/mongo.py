"""MongoDB plumbing: the client, duplicate-tolerant bulk inserts, transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, UpdateOne, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from .settings import ServiceSettings

Doc = dict[str, Any]
T = TypeVar("T")
DUPLICATE_KEY = 11000


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


def is_duplicate(exc: BaseException) -> bool:
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
