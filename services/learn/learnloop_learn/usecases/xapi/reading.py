"""Reading statements: by id, or a filtered page with its ``more`` link, and the attachments they carry.

Consistency: ``consistent_through`` is the read's time minus :data:`CONSISTENCY_MARGIN`. A statement's
``stored`` is set just before its bulk insert, and an intake's insert finishes well within the margin, so
every statement stored before that instant is visible to the read (Communication 2.1.3 "Consistent-Through").
It is never before the ``stored`` of a statement the read returns (the spec requires that too), so it is the
later of the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc

from ...domain.xapi.errors import XapiError
from ...domain.xapi.formats import render
from ...domain.xapi.multipart import Part
from ...domain.xapi.query import StatementQuery
from ...domain.xapi.scopes import XapiCaller
from ...storage.xapi.attachments import AttachmentStore
from ...storage.xapi.statements import StatementStore

CONSISTENCY_MARGIN = timedelta(seconds=1)


def consistent_through() -> datetime:
    """The instant up to which every stored statement is visible to reads starting now (module docstring)."""
    return utcnow() - CONSISTENCY_MARGIN


@dataclass
class ReadResult:
    """``body``: a statement (by id) or a StatementResult; ``last_modified``: the newest ``stored`` in it."""

    body: dict[str, Any]
    consistent_through: datetime
    last_modified: datetime | None = None
    attachments: list[Part] = field(default_factory=list)


class StatementReader:
    def __init__(self, store: StatementStore, attachments: AttachmentStore) -> None:
        self._store = store
        self._attachments = attachments

    async def read(
        self, q: StatementQuery, caller: XapiCaller, *, path: str, languages: Sequence[str] = ()
    ) -> ReadResult:
        """The answer to ``GET /xapi/statements`` for ``q``. A caller holding only ``statements/read/mine``
        sees only statements it is the authority of. Raises :class:`XapiError` 404 for an unknown id, for
        ``statementId`` of a voided statement and ``voidedStatementId`` of one that is not voided."""
        through = consistent_through()
        own = caller.authority_key if caller.reads_only_own else None
        if q.single:
            sid = q.statement_id or q.voided_statement_id or ""
            doc = await self._store.get(sid)
            want_voided = q.voided_statement_id is not None
            if doc is None or bool(doc["voided"]) != want_voided or (own is not None and doc["authority_key"] != own):
                raise XapiError("no such statement", status=404)
            docs = [doc]
            body = render(doc["statement"], q.format, languages)
        else:
            docs = await self._store.find(q, own)
            more = ""
            if len(docs) > q.limit:
                docs = docs[: q.limit]
                more = q.more_url(path, docs[-1]["stored"], docs[-1]["_id"])
            body = {"statements": [render(d["statement"], q.format, languages) for d in docs], "more": more}
        newest = max((d["stored"] for d in docs), default=None)
        result = ReadResult(body, max(through, newest) if newest is not None else through, newest)
        if q.attachments:
            result.attachments = await self._parts(docs)
        return result

    async def _parts(self, docs: Sequence[Doc]) -> list[Part]:
        hashes = sorted({h for d in docs for h in d.get("attachments") or () if isinstance(h, str)})
        stored = await self._attachments.get_many(hashes)
        return [
            Part(
                {
                    "Content-Type": str(a.get("content_type") or "application/octet-stream"),
                    "Content-Transfer-Encoding": "binary",
                    "X-Experience-API-Hash": sha2,
                },
                bytes(a["content"]),
            )
            for sha2, a in stored.items()
        ]
