"""Taking statements in: validate, complete what the LRS sets, store in one bulk write, then tell the hooks.

Duplicates and conflicts (Communication 2.1.1/2.1.2): the batch is inserted first (one unordered bulk write,
the hot path); only when ids existed already are those statements read and compared (``domain.xapi.compare``).
The same statement again is a no-op; a different one under an existing id makes the whole batch a 409, and
what this batch inserted is removed again (matched by id and this intake's ``stored``), so nothing of a
refused batch stays. Readers may see those statements for the moment between insert and removal.

Voiding (Data 2.3.2): once a batch is stored, the statements its voiding statements target are marked
``voided``, and so is any new statement that a stored voiding statement already targets (it arrived after
its voider). A voiding statement is never marked voided (voiding one has no effect).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc

from ...domain.xapi.attachments import match_parts
from ...domain.xapi.compare import same_statement
from ...domain.xapi.errors import XapiError
from ...domain.xapi.multipart import Part
from ...domain.xapi.scopes import XapiCaller
from ...domain.xapi.statements import (
    FILTER_FIELDS,
    MAX_DEPTH,
    VOIDED,
    prepare,
    ref_fields,
    ref_keys,
    ref_target,
    stored_document,
    too_deep,
)
from ...domain.xapi.validation import validate_statements
from ...storage.xapi.attachments import AttachmentStore
from ...storage.xapi.statements import StatementStore

AfterStore = Callable[[Sequence[Doc]], Awaitable[None]]
BeforeStore = Callable[[list[Doc]], None]

MAX_BATCH = 1_000
_REF_FIELDS = dict.fromkeys(FILTER_FIELDS, 1)


class StatementIntake:
    """``before_store`` hooks may add fields to the documents about to be stored (pure, no I/O: a marker that
    a job must still act on them survives a crash); ``after_store`` hooks run with the documents that were
    new, once they are stored (the loop's way in)."""

    def __init__(self, store: StatementStore, attachments: AttachmentStore | None = None) -> None:
        self._store = store
        self._attachments = attachments
        self.before_store: list[BeforeStore] = []
        self.after_store: list[AfterStore] = []

    async def store(self, body: Any, caller: XapiCaller, version: str, parts: Sequence[Part] = ()) -> list[str]:
        """Store one statement or a list (with the attachment ``parts`` of a multipart request); returns their
        ids in order. Raises :class:`XapiError` (400 invalid, 409 an id stored before with a different
        statement). See the module docstring for duplicates, conflicts and voiding."""
        ids, _ = await self.store_counting(body, caller, version, parts)
        return ids

    async def store_counting(
        self, body: Any, caller: XapiCaller, version: str, parts: Sequence[Part] = ()
    ) -> tuple[list[str], int]:
        """:meth:`store`, and how many of the statements were new (0: each was stored before, the same)."""
        if isinstance(body, list) and len(body) > MAX_BATCH:
            raise XapiError(f"at most {MAX_BATCH} statements per request")
        if isinstance(body, list) and not body:
            raise XapiError("the batch is empty")
        if too_deep(body, MAX_DEPTH + 1):
            raise XapiError(f"a statement nests JSON deeper than {MAX_DEPTH} levels")
        statements = validate_statements(body, version)
        contents = match_parts(statements, parts)
        stored = utcnow()
        docs = [
            stored_document(
                prepare(s, authority=caller.authority, stored=stored, version=version),
                stored,
                timestamp_set=not had_timestamp,
            )
            for s, had_timestamp in [(s, "timestamp" in s) for s in statements]
        ]
        ids = [d["_id"] for d in docs]
        if len(set(ids)) != len(ids):
            raise XapiError("the batch holds two statements with the same id")
        await self._fill_refs(docs)
        for mark in self.before_store:
            mark(docs)
        if contents and self._attachments is not None:
            await self._attachments.put_many([(c.sha2, c.content, c.content_type) for c in contents])
        existing = await self._store.insert_new(docs)
        new_docs = docs
        if existing:
            await self._check_same(docs, existing, stored)
            new_docs = [d for d in docs if d["_id"] not in existing]
        await self._void(new_docs)
        if new_docs:
            for hook in self.after_store:
                await hook(new_docs)
        return ids, len(new_docs)

    async def _fill_refs(self, docs: list[Doc]) -> None:
        """``ref`` and the ``@`` keys of statements whose object is a StatementRef (targets in the batch or
        stored; a voided target too: statements that target it still meet its filters)."""
        by_id = {d["_id"]: d for d in docs}
        wanted = {t for d in docs if (t := ref_target(d["statement"])) is not None}
        if not wanted:
            return
        targets: dict[str, Doc] = {t: by_id[t] for t in wanted if t in by_id}
        missing = [t for t in wanted if t not in targets]
        if missing:
            for found in await self._store.get_many(missing, _REF_FIELDS):
                targets[str(found["_id"])] = found
        for d in docs:
            t = ref_target(d["statement"])
            if t is not None and t in targets and t != d["_id"]:
                d["ref"] = ref_fields(targets[t])
                d["keys"] = [*d["keys"], *ref_keys(targets[t])]

    async def _check_same(self, docs: list[Doc], existing: set[str], stored: Any) -> None:
        old = {str(d["_id"]): d for d in await self._store.get_many(sorted(existing))}
        for d in docs:
            if d["_id"] not in existing:
                continue
            before = old.get(d["_id"])
            if before is None:  # removed meanwhile (a refused concurrent batch): treat as a conflict to retry
                conflict = True
            else:
                timestamps = not (d["timestamp_set"] or before.get("timestamp_set", False))
                conflict = not same_statement(d["statement"], before["statement"], timestamps=timestamps)
            if conflict:
                await self._store.remove_inserted([x["_id"] for x in docs if x["_id"] not in existing], stored)
                raise XapiError(f"statement {d['_id']} exists already and differs", status=409)

    async def _void(self, new_docs: list[Doc]) -> None:
        targets = [d["voids"] for d in new_docs if d["verb"] == VOIDED and d.get("voids")]
        late = await self._store.voided_targets([d["_id"] for d in new_docs if d["verb"] != VOIDED])
        await self._store.mark_voided([*targets, *late])
