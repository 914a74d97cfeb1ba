"""The xAPI forwarding job and its HTTP client for the remote LRS.

Runs in every worker replica when ``LEARNLOOP_XAPI_FORWARD_URL`` is set; a lease in MongoDB lets one of
them send at a time (``usecases/xapi/forwarding.py``), so statements go out in order and no replica
posts the same batch while another does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx
from learnloop_shared.events import utcnow

from ..domain.xapi.forwarding import Target, parse_retry_after, statements_url
from ..domain.xapi.versions import HEADER
from ..usecases.xapi.forwarding import Forwarding, Response

log = logging.getLogger(__name__)
# Most of an error body kept (the reason shown in the state is shorter still).
MAX_ERROR_BODY = 4096


class HttpRemote:
    """``POST <url>/statements`` with a JSON array, the configured xAPI version and HTTP Basic credentials."""

    def __init__(
        self,
        url: str,
        version: str,
        username: str | None,
        password: str | None,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = statements_url(url)
        self._headers = {HEADER: version, "Content-Type": "application/json"}
        self._auth = httpx.BasicAuth(username, password or "") if username is not None else None
        self._timeout_s = timeout_s
        self._transport = transport
        self._client: httpx.AsyncClient | None = None  # made on first use: api processes never send

    async def post_statements(self, statements: Sequence[Any]) -> Response:
        if self._client is None:
            self._client = httpx.AsyncClient(
                auth=self._auth, timeout=self._timeout_s, transport=self._transport, follow_redirects=False
            )
        body = json.dumps(list(statements), separators=(",", ":"), ensure_ascii=False).encode()
        try:
            r = await self._client.post(self._url, content=body, headers=self._headers)
        except httpx.HTTPError as exc:
            return Response(None, f"{type(exc).__name__}: {exc}")
        text = "" if r.is_success else r.text[:MAX_ERROR_BODY]
        return Response(r.status_code, text, parse_retry_after(r.headers.get("Retry-After"), utcnow()))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class ForwardingJob:
    """What ``app.jobs`` runs: a pass of :class:`Forwarding`; on shutdown, the lease released and the client closed."""

    def __init__(self, forwarding: Forwarding, remote: HttpRemote, target: Target) -> None:
        self.forwarding = forwarding
        self._remote = remote
        self.target = target

    async def run_due(self) -> int:
        return await self.forwarding.run_once()

    async def close(self) -> None:
        try:
            await self.forwarding.close()
        finally:
            await self._remote.close()
