"""Attachment content (collection ``xapi_attachments``): one document per SHA-2, content as bytes.

``{_id: sha2, content: bytes, content_type, length}``. Content is immutable by construction (keyed by its
hash), so storing it twice is a no-op and concurrent intakes cannot conflict.
"""

from __future__ import annotations

from collections.abc import Sequence

from learnloop_shared.mongo import Doc, upsert_many
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase


class AttachmentStore:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.attachments = db["xapi_attachments"]

    async def put_many(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        """Store ``(sha2, content, content_type)`` items not stored yet, in one bulk write."""
        if not items:
            return
        ops = [
            UpdateOne(
                {"_id": sha2},
                {"$setOnInsert": {"content": content, "content_type": ctype, "length": len(content)}},
                upsert=True,
            )
            for sha2, content, ctype in items
        ]
        # Two intakes upserting the same content at once: one insert wins, the other's is the same bytes.
        await upsert_many(self.attachments, ops)

    async def get_many(self, hashes: Sequence[str]) -> dict[str, Doc]:
        if not hashes:
            return {}
        docs = await self.attachments.find({"_id": {"$in": list(hashes)}}).to_list(None)
        return {str(d["_id"]): d for d in docs}
