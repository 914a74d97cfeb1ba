"""Creating, listing and revoking LRS credentials (the ``/v1/lrs/credentials`` admin API)."""

from __future__ import annotations

from learnloop_shared.events import utcnow

from ...domain.xapi.credentials import Credential, CredentialCreated, CredentialIn
from ...storage.xapi.credentials import CredentialStore


class TooManyCredentials(Exception):
    """The LRS holds ``max_count`` credentials already."""


class LrsCredentials:
    """``max_count`` caps how many credentials exist (a soft cap: two creations racing may pass it by one)."""

    def __init__(self, store: CredentialStore, max_count: int) -> None:
        self._store = store
        self.max_count = max_count

    async def create(self, body: CredentialIn, created_by: str) -> CredentialCreated:
        if await self._store.count(self.max_count) >= self.max_count:
            raise TooManyCredentials(f"the LRS holds {self.max_count} credentials already: revoke some first")
        scopes: list[str] = sorted(set(body.scopes))
        doc, secret = await self._store.create(body.name, scopes, created_by, utcnow())
        return CredentialCreated(key=doc["_id"], secret=secret, name=doc["name"], scopes=doc["scopes"])

    async def list(self) -> list[Credential]:
        return [
            Credential(
                key=d["_id"],
                name=d["name"],
                scopes=d["scopes"],
                created_at=d["created_at"],
                created_by=d["created_by"],
            )
            for d in await self._store.list(self.max_count)
        ]

    async def revoke(self, key: str) -> bool:
        return await self._store.revoke(key)
