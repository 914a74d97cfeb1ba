"""Writing the directory: every user or team change is stored with its directory event (outbox, same
transaction), so the copies other services keep (learn's, for reports) see every change, in order.

Event ids are stable: ``stable_event_id("directory", kind, id, version, part)`` for a change;
a republish (``usecases/republishing.py``) adds its job id, so its events are new messages for the outbox
and consumers, yet the same on a retry of the same batch. Consumers take a version only if it is newer
than theirs, so an event seen twice, or a republished version they have, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from learnloop_shared.documents import Doc
from learnloop_shared.events import Envelope, make_event, stable_event_id
from learnloop_shared.outbox import Outbox, UnitOfWork, retry_transient

from ..domain.directory import Team, TeamIn, User, UserIn
from ..domain.directory_events import team_changed, user_changed
from ..storage.directory import Directory, to_team, to_user

USER, TEAM = "user_changed", "team_changed"
# A refused write inside the unit of work (two first PUTs of the same id racing to insert it): the loser
# runs again and updates the document the winner inserted.
MAX_DUPLICATE_RETRIES = 5


def user_events(doc: Doc, source: str, *suffix: str) -> list[tuple[str, Envelope[Any]]]:
    """(key, event) of a stored user document."""
    data = user_changed(doc)
    event_id = stable_event_id("directory", USER, doc["_id"], str(data.version), "0", *suffix)
    return [(doc["_id"], make_event(data, source=source, subject=doc["_id"], event_id=event_id))]


def team_events(doc: Doc, source: str, *suffix: str) -> list[tuple[str, Envelope[Any]]]:
    """(key, event) of each part of a stored team document, in part order (one key: one partition)."""
    return [
        (
            doc["_id"],
            make_event(
                data,
                source=source,
                subject=doc["_id"],
                event_id=stable_event_id("directory", TEAM, doc["_id"], str(data.version), str(data.part), *suffix),
            ),
        )
        for data in team_changed(doc)
    ]


class DirectoryConflict(Exception):
    """The write kept being refused as a duplicate (should not happen: each retry updates instead)."""


class DirectoryWrites:
    def __init__(self, directory: Directory, outbox: Outbox, topic: str, source: str) -> None:
        self._directory = directory
        self._outbox = outbox
        self._topic = topic
        self._source = source

    def _emit(self, tx: UnitOfWork, events: list[tuple[str, Envelope[Any]]]) -> None:
        for key, event in events:
            tx.emit(self._topic, key, event)

    @retry_transient
    async def put_user(self, user_id: str, body: UserIn) -> User:
        for _ in range(MAX_DUPLICATE_RETRIES):
            async with self._outbox.transaction() as tx:
                doc = await self._directory.put_user(user_id, body, tx.session)
                self._emit(tx, user_events(doc, self._source))
            if not tx.duplicate:
                return to_user(doc)
        raise DirectoryConflict(user_id)

    @retry_transient
    async def put_users(self, users: Sequence[tuple[str, UserIn]]) -> tuple[int, int]:
        """A directory sync: (created, updated); one event per user written."""
        for _ in range(MAX_DUPLICATE_RETRIES):
            async with self._outbox.transaction() as tx:
                created, docs = await self._directory.put_users(users, tx.session)
                for doc in docs:
                    self._emit(tx, user_events(doc, self._source))
            if not tx.duplicate:
                return created, len(docs) - created
        raise DirectoryConflict(users[0][0] if users else "")

    @retry_transient
    async def put_team(self, team_id: str, body: TeamIn) -> Team:
        for _ in range(MAX_DUPLICATE_RETRIES):
            async with self._outbox.transaction() as tx:
                doc = await self._directory.put_team(team_id, body, tx.session)
                self._emit(tx, team_events(doc, self._source))
            if not tx.duplicate:
                return to_team(doc)
        raise DirectoryConflict(team_id)
