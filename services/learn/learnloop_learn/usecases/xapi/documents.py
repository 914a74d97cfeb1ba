"""What the document resources do: read, write (PUT), merge (POST) and delete documents under the ETag
preconditions, and keep the canonical Activity definitions the Activities resource answers with."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc
from pymongo.errors import PyMongoError

from ...domain.xapi.activities import latest_definitions
from ...domain.xapi.agents import ifi_key
from ...domain.xapi.documents import (
    DEFAULT_TYPE,
    JSON_TYPE,
    DocumentKey,
    blind_create_refused,
    blind_put_conflicts,
    check_preconditions,
    check_put_body,
    etag,
    merged,
)
from ...domain.xapi.errors import XapiError
from ...domain.xapi.scopes import XapiCaller
from ...storage.xapi.credentials import CredentialStore
from ...storage.xapi.documents import DocumentStore
from ...storage.xapi.statements import StatementStore

log = logging.getLogger(__name__)
ATTEMPTS = 5  # compare-and-set rounds before a write under heavy contention gives up (409)
PERSON_STATEMENTS = 50  # statements read to learn an agent's names


class Documents:
    """State, Activity Profile and Agent Profile documents. ``max_bytes``: the largest document (413 above)."""

    def __init__(self, store: DocumentStore, max_bytes: int) -> None:
        self._store = store
        self.max_bytes = max_bytes

    async def get(self, key: DocumentKey) -> Doc:
        doc = await self._store.get(key)
        if doc is None:
            raise XapiError("no such document", status=404)
        return doc

    async def ids(self, key: DocumentKey, since: datetime | None) -> list[str]:
        return await self._store.ids(key, since)

    async def write(
        self,
        key: DocumentKey,
        content: bytes,
        content_type: str | None,
        *,
        merge: bool,
        if_match: str | None,
        if_none_match: str | None,
        version: str,
    ) -> str:
        """PUT (``merge`` False: replace) or POST (merge JSON objects); returns the new ETag. Raises
        400/409/412/413 as :mod:`domain.xapi.documents` says; the write is compare-and-set on the ETag read."""
        if len(content) > self.max_bytes:
            raise XapiError(f"the document is larger than {self.max_bytes} bytes", status=413)
        if not merge:
            check_put_body(content, content_type)
        require_header = not merge and blind_put_conflicts(key.kind, version)
        require_to_create = not merge and blind_create_refused(key.kind, version)
        for _ in range(ATTEMPTS):
            current = await self._store.get(key)
            tag = current["etag"] if current else None
            check_preconditions(
                tag, if_match, if_none_match, require_header=require_header, require_header_to_create=require_to_create
            )
            if merge:
                stored, stored_type = (current["content"], current["content_type"]) if current else (None, None)
                new, new_type = merged(stored, stored_type, content, content_type), JSON_TYPE
                if len(new) > self.max_bytes:
                    raise XapiError(f"the merged document is larger than {self.max_bytes} bytes", status=413)
            else:
                new, new_type = content, (content_type or "").strip() or DEFAULT_TYPE
            now, new_tag = utcnow(), etag(new)
            if current is None:
                if await self._store.create(key, new, new_type, new_tag, now):
                    return new_tag
            elif await self._store.replace(key, tag or "", new, new_type, new_tag, now):
                return new_tag
        raise XapiError("the document is being changed by others: try again", status=409)

    async def delete(self, key: DocumentKey, *, if_match: str | None, if_none_match: str | None) -> None:
        """Delete one document (``key.doc_id`` set) or all the key covers. A missing document is no error."""
        if key.doc_id is None:
            await self._store.delete_all(key)
            return
        for _ in range(ATTEMPTS):
            current = await self._store.get(key)
            tag = current["etag"] if current else None
            check_preconditions(tag, if_match, if_none_match, require_header=False)
            if current is None or await self._store.delete(key, tag):
                return
        raise XapiError("the document is being changed by others: try again", status=409)


class Activities:
    """Canonical Activity definitions, kept from statements whose authority may ``define``, and the Person
    the LRS knows for an Agent."""

    def __init__(
        self,
        store: DocumentStore,
        credentials: CredentialStore,
        statements: StatementStore,
        credentials_home_page: str,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._statements = statements
        self._credentials_home_page = credentials_home_page

    async def _may_define(self, authority: Mapping[str, Any]) -> bool:
        """Statements carry their authority, not their writer's scopes: an LRS credential may define when its
        scopes grant ``define``; a Bearer writer always may (``xapi:write`` grants ``define``)."""
        account = authority.get("account")
        if not isinstance(account, Mapping) or account.get("homePage") != self._credentials_home_page:
            return True
        scopes = await self._credentials.scopes_of(str(account.get("name")))
        return scopes is not None and XapiCaller({}, "", frozenset(scopes)).may("define")

    async def after_store(self, docs: Sequence[Doc]) -> None:
        """The intake's after_store hook: upsert the definitions in the stored statements."""
        verdicts: dict[str | None, bool] = {}
        defining = []
        for d in docs:
            authority = d["statement"].get("authority") or {}
            k = ifi_key(authority)
            if k not in verdicts:
                verdicts[k] = await self._may_define(authority)
            if verdicts[k]:
                defining.append(d["statement"])
        found = latest_definitions(defining)
        if not found:
            return
        try:
            await self._store.keep_definitions(list(found.items()), utcnow())
        except PyMongoError:
            # The statements are stored: failing their write now would only make the client retry into a
            # 409. The definitions come back with the next statement that carries them.
            log.exception("could not keep %d activity definitions", len(found))

    async def activity(self, activity_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
        doc = await self._store.activity(activity_id)
        if doc is not None and doc.get("definition"):
            out["definition"] = doc["definition"]
        return out

    async def person(self, agent: Mapping[str, Any], key: str) -> dict[str, Any]:
        """The Person object: every name and IFI the LRS has seen for the Agent identified by ``key``."""
        seen: list[Mapping[str, Any]] = [agent]
        for candidate in await self._statements.agents_seen(key, PERSON_STATEMENTS):
            if ifi_key(candidate) == key:
                seen.append(candidate)
        person: dict[str, Any] = {"objectType": "Person"}
        for a in seen:
            for prop in ("name", "mbox", "mbox_sha1sum", "openid", "account"):
                value = a.get(prop)
                if value is not None and value not in person.setdefault(prop, []):
                    person[prop].append(value)
        return {k: v for k, v in person.items() if v}
