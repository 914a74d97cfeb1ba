"""Reads of collections other LRS stores own (``lrs_credentials``, ``xapi_statements``), for the document
resources: kept apart so those stores stay as their owners wrote them."""

from __future__ import annotations

from typing import Any

from learnloop_shared.mongo import Doc
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ...domain.xapi.statements import AGENT


class LrsLookups:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.credentials = db["lrs_credentials"]
        self.statements = db["xapi_statements"]

    async def credential_scopes(self, key: str) -> list[str] | None:
        """The scopes of the credential ``key``, None when it does not exist (revoked)."""
        doc = await self.credentials.find_one({"_id": key}, {"scopes": 1})
        return None if doc is None else list(doc["scopes"])

    async def count_credentials(self, limit: int) -> int:
        """How many credentials exist, counted up to ``limit``."""
        return await self.credentials.count_documents({}, limit=limit)

    async def agents_in_statements(self, key: str, limit: int) -> list[dict[str, Any]]:
        """The actor and object of the latest ``limit`` statements about the agent ``key`` (the statements'
        one index, ``keys``: see ``domain.xapi.statements``)."""
        cursor = self.statements.find({"keys": AGENT + key}, {"statement.actor": 1, "statement.object": 1})
        out: list[dict[str, Any]] = []
        async for d in cursor.sort("stored", DESCENDING).limit(limit):
            for part in ("actor", "object"):
                value = d["statement"].get(part)
                if isinstance(value, dict):
                    out.append(value)
        return out
