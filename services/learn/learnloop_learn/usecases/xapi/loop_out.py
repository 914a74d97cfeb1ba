"""The loop out: every learning event learn records becomes a statement in its own LRS.

Statements are built by ``domain.xapi.loop.Out`` with ids derived from the events, and stored through the
intake as Learnloop itself (:func:`learnloop_caller`): validated like anyone's, and never taken in again
by the loop in (its authority). A replayed event finds its statement stored and stores nothing: ids
already stored are skipped before the write, and a statement another process stored in between (409)
counts as stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from learnloop_shared.events import Envelope, LearningAcknowledged, LearningAnswered, LearningChecked

from ...domain.xapi.errors import XapiError
from ...domain.xapi.loop import Out, learnloop_authority, learnloop_authority_key
from ...domain.xapi.scopes import XapiCaller
from ...domain.xapi.versions import V103
from ...storage.learning import LearningStore
from ...storage.xapi.statements import StatementStore
from .intake import StatementIntake

log = logging.getLogger(__name__)
VERSION = V103  # what Learnloop's statements are written in: readable by 1.0.x and 2.0 clients alike


def learnloop_caller(public_url: str) -> XapiCaller:
    """Learnloop writing to its own LRS: statements/write only."""
    return XapiCaller(
        authority=learnloop_authority(public_url),
        authority_key=learnloop_authority_key(public_url),
        scopes=frozenset({"statements/write"}),
    )


@dataclass(frozen=True)
class Refused:
    """An event whose statement the LRS refused for good (invalid): ``index`` in the batch, and why."""

    index: int
    reason: str


class LoopOut:
    def __init__(self, intake: StatementIntake, statements: StatementStore, learning: LearningStore, out: Out) -> None:
        self._intake = intake
        self._statements = statements
        self._learning = learning
        self._out = out
        self._caller = learnloop_caller(out.public_url)

    async def record(self, events: Sequence[Envelope[Any]]) -> list[Refused]:
        """Store the statement of each event (those that make one) in one write; returns the events whose
        statement is invalid (each tried alone once the batch was refused)."""
        built: list[tuple[int, dict[str, Any]]] = []
        urls: dict[str, str | None] = {}
        for i, event in enumerate(events):
            statement = await self._statement(event, urls)
            if statement is not None:
                built.append((i, statement))
        if not built:
            return []
        stored = {d["_id"] for d in await self._statements.get_many([s["id"] for _, s in built])}
        new = [(i, s) for i, s in built if s["id"] not in stored]
        if not new:
            return []
        try:
            await self._intake.store([s for _, s in new], self._caller, VERSION)
            return []
        except XapiError:  # one invalid statement, or one stored meanwhile: each on its own
            pass
        refused: list[Refused] = []
        for i, s in new:
            try:
                await self._intake.store(s, self._caller, VERSION)
            except XapiError as exc:
                if exc.status == 409:
                    continue  # stored meanwhile (the same id is the same event)
                log.warning("xapi loop out: statement %s refused: %s", s["id"], exc)
                refused.append(Refused(i, f"xAPI statement refused: {exc}"))
        return refused

    async def _statement(self, event: Envelope[Any], urls: dict[str, str | None]) -> dict[str, Any] | None:
        data = event.data
        share_id = data.share_id
        if share_id not in urls:
            share = await self._learning.share(share_id)
            urls[share_id] = share.get("url") if share is not None else None
        url = urls[share_id]
        if isinstance(data, LearningAcknowledged):
            return self._out.acknowledged(data, event.id, url)
        if isinstance(data, LearningChecked):
            return self._out.checked(data, url)
        if isinstance(data, LearningAnswered):
            return self._out.answered(data, url)
        return None
