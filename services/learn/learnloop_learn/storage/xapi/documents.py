"""The LRS's documents (collection ``xapi_documents``) and canonical Activity definitions (``xapi_activities``).

A document: ``{_id, kind, activity, agent, registration, doc_id, content (bytes), content_type, etag, updated}``
with ``activity`` / ``agent`` / ``registration`` None where they do not apply (``domain.xapi.documents``).
``(kind, activity, agent, registration, doc_id)`` is unique. Writes are compare-and-set on ``etag``, so two
clients that both read a document before writing cannot both overwrite it (the loser sees its precondition
fail, or retries on the new content).

An activity: ``{_id: activity id, definition, updated}``: the latest definition, language maps merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bson import Binary
from learnloop_shared.mongo import Doc
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ...domain.xapi.activities import LANGUAGE_MAPS
from ...domain.xapi.documents import DocumentKey

LIST_LIMIT = 10_000  # ids one list answers at most


def _where(key: DocumentKey) -> Doc:
    """The filter for one document, or (``doc_id`` None) for the set: State without a registration covers every
    registration there; one document without it is the one stored without a registration."""
    q: Doc = {"kind": key.kind, "activity": key.activity, "agent": key.agent}
    if key.doc_id is not None:
        q["doc_id"] = key.doc_id
        q["registration"] = key.registration
    elif key.registration is not None:
        q["registration"] = key.registration
    return q


class DocumentStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.documents = db["xapi_documents"]
        self.activities = db["xapi_activities"]

    async def ensure_indexes(self) -> None:
        d = self.documents
        fields = [("kind", ASCENDING), ("activity", ASCENDING), ("agent", ASCENDING)]
        await d.create_index([*fields, ("registration", ASCENDING), ("doc_id", ASCENDING)], unique=True)
        await d.create_index([*fields, ("updated", ASCENDING)])  # lists with ``since``

    async def get(self, key: DocumentKey) -> Doc | None:
        doc = await self.documents.find_one(_where(key))
        if doc is not None:
            doc["content"] = bytes(doc["content"])
        return doc

    async def ids(self, key: DocumentKey, since: datetime | None) -> list[str]:
        q = _where(key)
        if since is not None:
            q["updated"] = {"$gt": since}
        cursor = self.documents.find(q, {"doc_id": 1}).sort("updated", ASCENDING).limit(LIST_LIMIT)
        return sorted({d["doc_id"] async for d in cursor})

    async def create(self, key: DocumentKey, content: bytes, content_type: str, tag: str, now: datetime) -> bool:
        """Store a new document; False when one exists already (a concurrent writer was first)."""
        try:
            await self.documents.insert_one(
                {
                    **_where(key),
                    "content": Binary(content),
                    "content_type": content_type,
                    "etag": tag,
                    "updated": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def replace(
        self, key: DocumentKey, expected: str, content: bytes, content_type: str, tag: str, now: datetime
    ) -> bool:
        """Overwrite the document if its ETag is still ``expected``; False when it changed or went meanwhile."""
        result = await self.documents.update_one(
            {**_where(key), "etag": expected},
            {"$set": {"content": Binary(content), "content_type": content_type, "etag": tag, "updated": now}},
        )
        return result.matched_count == 1

    async def delete(self, key: DocumentKey, expected: str | None = None) -> bool:
        """Delete one document (only if its ETag is ``expected`` when given); False when nothing matched."""
        q = _where(key)
        if expected is not None:
            q["etag"] = expected
        result = await self.documents.delete_one(q)
        return result.deleted_count == 1

    async def delete_all(self, key: DocumentKey) -> int:
        result = await self.documents.delete_many(_where(key))
        return result.deleted_count

    # Activities -----------------------------------------------------------------------------------------

    async def activity(self, activity_id: str) -> Doc | None:
        return await self.activities.find_one({"_id": activity_id})

    async def keep_definitions(self, definitions: Sequence[tuple[str, Mapping[str, Any]]], now: datetime) -> None:
        """Upsert each activity's definition in one bulk write, by ``activities.merge_definition``'s rule done
        in the database (atomic per activity, so concurrent writers lose no language). Values are passed as
        ``$literal`` so that keys holding dots (extension IRIs) or ``$`` are kept as data."""
        ops = []
        for activity_id, definition in definitions:
            plain = {k: v for k, v in definition.items() if k not in LANGUAGE_MAPS}
            merged: list[Any] = [{"$ifNull": ["$definition", {}]}, {"$literal": plain}]
            for lang_map in LANGUAGE_MAPS:
                if isinstance(definition.get(lang_map), Mapping):
                    both = [{"$ifNull": [f"$definition.{lang_map}", {}]}, {"$literal": definition[lang_map]}]
                    merged.append({lang_map: {"$mergeObjects": both}})
            pipeline = [{"$set": {"definition": {"$mergeObjects": merged}, "updated": {"$literal": now}}}]
            ops.append(UpdateOne({"_id": activity_id}, pipeline, upsert=True))
        if ops:
            await self.activities.bulk_write(ops, ordered=True)
