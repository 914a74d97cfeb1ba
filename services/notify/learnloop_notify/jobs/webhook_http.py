"""One webhook request: resolve the host once, check every address, connect only to a checked one.

A webhook URL is user input. Checking a name's addresses and then letting the HTTP client resolve it
again leaves a gap in which the DNS answer can change (rebinding: public when checked, 169.254.169.254
when connected). Here each attempt resolves the host once, refuses unless every address passes
:func:`..domain.webhooks.check_addresses`, and the connection pool's network backend may open TCP
connections only to those addresses — it never resolves anything. The URL keeps the host name, so the
Host header, TLS SNI and certificate verification are the ordinary ones for that name.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

import httpcore
import httpx
from httpcore import AsyncNetworkBackend, AsyncNetworkStream

from ..config import NotifySettings
from ..domain.webhooks import AddressRefused, InvalidWebhookUrl, check_addresses, check_scheme, parse_url

Resolver = Callable[[str, int], Awaitable[list[str]]]
SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, in its order of preference, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedBackend(AsyncNetworkBackend):
    """Opens TCP connections to ``host`` only, and only at the given (already checked) addresses,
    tried in order. Any other host, and unix sockets, are refused."""

    def __init__(self, host: str, addresses: Sequence[str], inner: AsyncNetworkBackend | None = None) -> None:
        if not addresses:
            raise ValueError("no addresses to connect to")
        self._host = host
        self._addresses = list(addresses)
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        if host != self._host:
            raise httpcore.ConnectError(f"{host} is not the host whose addresses were checked")
        error: Exception | None = None
        for address in self._addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SocketOption] | None = None
    ) -> AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks connect over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that connects through a :class:`PinnedBackend`.

    httpx takes no network backend; its transport adapts requests, responses and errors to the httpcore
    pool in ``_pool``, so replacing that pool keeps all of httpx's behaviour. httpx is pinned in
    pyproject.toml, and tests/unit/test_webhook_http.py fails if this ever stops holding.
    """

    def __init__(self, backend: PinnedBackend, ssl_context: ssl.SSLContext | None = None) -> None:
        ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(ssl_context=ssl_context, network_backend=backend, max_connections=1)


class WebhookHttp:
    """Sends webhook requests for the dispatcher; every call checks its target afresh."""

    def __init__(
        self,
        settings: NotifySettings,
        resolver: Resolver = system_resolver,
        backend: AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._s = settings
        self._resolve = resolver
        self._backend = backend  # the real network unless a test passes another
        # Built once: loading the CA certificates is slow. Tests may pass one that trusts their own CA.
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=False)

    async def checked(self, url: str) -> tuple[str, list[str]]:
        """The URL's host (as the HTTP client names it) and its addresses, each of which may be reached.

        Raises InvalidWebhookUrl or AddressRefused (also when the name does not resolve).
        """
        target = parse_url(url)
        check_scheme(url, self._s.webhook_require_https)
        try:
            host = httpx.URL(url).raw_host.decode("ascii")
        except httpx.InvalidURL as exc:
            raise InvalidWebhookUrl(f"url is malformed: {exc}") from exc
        if target.ip_literal:
            addresses = [host]
        else:
            try:
                addresses = await self._resolve(host, target.port)
            except OSError as exc:
                raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
        check_addresses(addresses, self._s.webhook_allowed_networks)
        return host, addresses

    async def post(self, url: str, body: str, headers: Mapping[str, str]) -> int:
        """POST ``body`` and return the status code, reading at most the configured response bytes.

        The whole attempt (resolution, connect, request, response) is bounded by the webhook timeout
        (TimeoutError); refused and invalid targets raise AddressRefused / InvalidWebhookUrl, transport
        failures httpx.HTTPError.
        """
        async with asyncio.timeout(self._s.webhook_timeout_s):
            host, addresses = await self.checked(url)
            transport = PinnedTransport(PinnedBackend(host, addresses, self._backend), self._ssl)
            async with (
                httpx.AsyncClient(
                    transport=transport,
                    timeout=httpx.Timeout(self._s.webhook_timeout_s),
                    follow_redirects=False,
                    trust_env=False,
                ) as client,
                client.stream("POST", url, content=body, headers=dict(headers)) as response,
            ):
                await _read_limited(response, self._s.webhook_max_response_bytes)
                return response.status_code


async def _read_limited(response: httpx.Response, limit: int) -> int:
    """Read at most ``limit`` body bytes (the rest is dropped with the connection); returns bytes read."""
    got = 0
    async for chunk in response.aiter_raw():
        got += len(chunk)
        if got >= limit:
            break
    return got
