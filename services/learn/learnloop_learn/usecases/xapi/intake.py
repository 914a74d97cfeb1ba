"""Taking statements in: validate, complete what the LRS sets, store in one bulk write, then tell the hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc

from ...domain.xapi.errors import XapiError
from ...domain.xapi.scopes import XapiCaller
from ...domain.xapi.statements import prepare, stored_document
from ...domain.xapi.validation import validate_statements
from ...storage.xapi.statements import StatementStore

AfterStore = Callable[[Sequence[Doc]], Awaitable[None]]
BeforeStore = Callable[[list[Doc]], None]


class StatementIntake:
    """``before_store`` hooks may add fields to the documents about to be stored (pure, no I/O: a marker that
    a job must still act on them survives a crash); ``after_store`` hooks run with the documents that were
    new, once they are stored (the loop's way in)."""

    def __init__(self, store: StatementStore) -> None:
        self._store = store
        self.before_store: list[BeforeStore] = []
        self.after_store: list[AfterStore] = []

    async def store(self, body: Any, caller: XapiCaller, version: str) -> list[str]:
        """Store one statement or a list; returns their ids in order. Raises :class:`XapiError` (400 invalid,
        409 an id stored before with a different statement)."""
        statements = validate_statements(body, version)
        stored = utcnow()
        docs = [
            stored_document(prepare(s, authority=caller.authority, stored=stored, version=version), stored)
            for s in statements
        ]
        ids = [d["_id"] for d in docs]
        if len(set(ids)) != len(ids):
            raise XapiError("the batch holds two statements with the same id")
        for mark in self.before_store:
            mark(docs)
        existing = await self._store.insert_new(docs)
        if existing:
            raise XapiError(f"statement {sorted(existing)[0]} exists already", status=409)
        for hook in self.after_store:
            await hook(docs)
        return ids
