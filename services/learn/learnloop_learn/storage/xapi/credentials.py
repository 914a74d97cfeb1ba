"""LRS credentials for HTTP Basic (collection ``lrs_credentials``).

``{_id: key, name, scopes, secret_sha256, created_at, created_by}``. Secrets are 32 random bytes, so a plain
SHA-256 stores them safely (no slow hash needed for secrets nobody chose); the secret itself is shown once,
at creation. Verified credentials are cached for ``cache_s`` so a revoked key stops working within it.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import datetime

from learnloop_shared.mongo import Doc
from pymongo.asynchronous.database import AsyncDatabase


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class CredentialStore:
    def __init__(
        self, db: AsyncDatabase[Doc], cache_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.credentials = db["lrs_credentials"]
        self._cache: dict[str, tuple[float, Doc | None]] = {}
        self._cache_s = cache_s
        self._clock = clock

    async def create(self, name: str, scopes: list[str], created_by: str, now: datetime) -> tuple[Doc, str]:
        """A new credential and its secret (returned once, never stored)."""
        key, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
        doc: Doc = {
            "_id": key,
            "name": name,
            "scopes": scopes,
            "secret_sha256": _digest(secret),
            "created_at": now,
            "created_by": created_by,
        }
        await self.credentials.insert_one(doc)
        return doc, secret

    async def put(self, key: str, secret: str, name: str, scopes: list[str], now: datetime) -> None:
        """Create or replace a credential with a known secret (the local demo credential)."""
        await self.credentials.replace_one(
            {"_id": key},
            {
                "name": name,
                "scopes": scopes,
                "secret_sha256": _digest(secret),
                "created_at": now,
                "created_by": "local",
            },
            upsert=True,
        )

    async def list(self, limit: int = 1000) -> list[Doc]:
        return await self.credentials.find({}, {"secret_sha256": 0}).sort("created_at", 1).limit(limit).to_list(None)

    async def scopes_of(self, key: str) -> builtins.list[str] | None:
        """The scopes of the credential ``key``, None when it does not exist (revoked); not cached."""
        doc = await self.credentials.find_one({"_id": key}, {"scopes": 1})
        return None if doc is None else list(doc["scopes"])

    async def count(self, limit: int) -> int:
        """How many credentials exist, counted up to ``limit``."""
        return await self.credentials.count_documents({}, limit=limit)

    async def revoke(self, key: str) -> bool:
        self._cache.pop(key, None)
        result = await self.credentials.delete_one({"_id": key})
        return result.deleted_count == 1

    async def verify(self, key: str, secret: str) -> Doc | None:
        """The credential when ``secret`` is its secret, else None."""
        now = self._clock()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._cache_s:
            doc = hit[1]
        else:
            doc = await self.credentials.find_one({"_id": key})
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, doc)
        if doc is None or not hmac.compare_digest(doc["secret_sha256"], _digest(secret)):
            return None
        return doc
