"""Live changes of one share's learning data, for the author's feedback stream.

A MongoDB change stream over learn's database (one per open stream, like notify's notification stream, so
any API replica sees writes of any worker or replica). It reports that something of the share was stored:
an acknowledgement or question (``acknowledgements``), an answer (``answers``), a knowledge-check attempt
(``check_attempts``), a recipient's progress (``progress``) or new recipients (``audience``). What changed is
not sent: the page reads the counts again.

Which documents belong to a share: every collection above keys its documents ``<share_id>|…`` except
questions and answers (random ids), whose inserts carry ``share_id`` in the full document. Only inserts,
updates and replacements count (nothing of a share is deleted while it is followed).
"""

from __future__ import annotations

from learnloop_shared.mongo import Doc
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

WATCHED = ("acknowledgements", "answers", "check_attempts", "progress", "audience")


class FeedEnded(Exception):
    """The change stream stopped delivering (the database connection failed)."""


def share_changes(share_id: str) -> list[Doc]:
    """The change-stream pipeline that keeps the changes of one share."""
    return [
        {
            "$match": {
                "ns.coll": {"$in": list(WATCHED)},
                "operationType": {"$in": ["insert", "update", "replace"]},
                "$or": [
                    {"documentKey._id": {"$gte": f"{share_id}|", "$lt": f"{share_id}}}"}},  # "}" follows "|"
                    {"fullDocument.share_id": share_id},
                ],
            }
        },
        {"$project": {"_id": 1}},
    ]


class ShareChanges:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db

    async def watch(self, share_id: str) -> ChangeFeed:
        """Changes of the share stored from now on."""
        return ChangeFeed(await self.db.watch(share_changes(share_id), max_await_time_ms=1000))


class ChangeFeed:
    """:meth:`next` waits up to a second for the next change of the share."""

    def __init__(self, changes: AsyncChangeStream[Doc]) -> None:
        self._changes = changes

    async def next(self) -> bool:
        """True if a change arrived, False if none did within the wait; :class:`FeedEnded` on failure."""
        try:
            return await self._changes.try_next() is not None
        except PyMongoError as exc:
            raise FeedEnded(repr(exc)) from exc

    async def close(self) -> None:
        await self._changes.close()
