"""Webhook HTTP: one resolution per attempt, every address checked, connections only to checked addresses."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from learnloop_notify.config import NotifySettings
from learnloop_notify.domain.webhooks import AddressRefused, InvalidWebhookUrl
from learnloop_notify.jobs.webhook_http import PinnedBackend, WebhookHttp

NO_CONTENT = [b"HTTP/1.1 204 No Content\r\n\r\n"]


def settings(**kw) -> NotifySettings:
    base = {"auth_secret": "x" * 32, "webhook_require_https": False, "webhook_timeout_s": 2.0}
    return NotifySettings(**(base | kw))


class Resolver:
    """Answers from a script, one answer per call, and counts calls (the last answer repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


class Recording(httpcore.AsyncMockBackend):
    """Records where connections go; every connection answers 204."""

    def __init__(self) -> None:
        super().__init__(NO_CONTENT)
        self.connected: list[str] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append(host)
        return await super().connect_tcp(host, port, timeout, local_address, socket_options)


async def test_dns_rebinding_never_reaches_the_private_address():
    resolve = Resolver(["93.184.216.34"], ["10.0.0.1"])  # public when first asked, private afterwards
    net = Recording()
    http = WebhookHttp(settings(), resolver=resolve, backend=net)
    assert await http.post("http://hooks.example.com/x", "{}", {}) == 204
    with pytest.raises(AddressRefused, match=re.escape("10.0.0.1")):
        await http.post("http://hooks.example.com/x", "{}", {})
    assert resolve.calls == ["hooks.example.com", "hooks.example.com"]  # once per attempt
    assert net.connected == ["93.184.216.34"]


async def test_one_non_public_address_among_the_answers_refuses_the_attempt():
    net = Recording()
    http = WebhookHttp(settings(), resolver=Resolver(["93.184.216.34", "::ffff:0:a9fe:a9fe"]), backend=net)
    with pytest.raises(AddressRefused, match=re.escape("169.254.169.254")):
        await http.post("http://hooks.example.com/x", "{}", {})
    assert net.connected == []


@pytest.mark.parametrize(
    "url", ["http://[64:ff9b::a9fe:a9fe]/", "http://[::a9fe:a9fe]/", "http://[::ffff:0:a9fe:a9fe]/"]
)
async def test_ip_literals_are_checked_without_resolving(url):
    resolve, net = Resolver(["93.184.216.34"]), Recording()
    with pytest.raises(AddressRefused):
        await WebhookHttp(settings(), resolver=resolve, backend=net).post(url, "{}", {})
    assert resolve.calls == [] and net.connected == []


async def test_invalid_stored_urls_are_refused_before_anything_happens():
    net = Recording()
    http = WebhookHttp(settings(webhook_allowed_networks=["127.0.0.0/8"]), resolver=Resolver(), backend=net)
    with pytest.raises(InvalidWebhookUrl, match="port"):
        await http.post("http://127.0.0.1:99999/", "{}", {})
    with pytest.raises(AddressRefused, match="https"):
        await WebhookHttp(settings(webhook_require_https=True), backend=net).post("http://x.example/", "{}", {})
    assert net.connected == []


async def test_pinned_backend_connects_only_for_its_host():
    net = Recording()
    backend = PinnedBackend("hooks.example.com", ["93.184.216.34"], net)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("other.example.com", 80)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_unix_socket("/tmp/x")
    await backend.connect_tcp("hooks.example.com", 80)
    assert net.connected == ["93.184.216.34"]


class Server:
    """A real loopback HTTP server that records the Host header of each request."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("host:"):
                self.hosts.append(line.split(":", 1)[1].strip())
        writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, int]]:
    srv = Server()
    s = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    yield srv, s.sockets[0].getsockname()[1]
    s.close()
    await s.wait_closed()


async def test_connects_to_the_checked_address_and_keeps_the_host_name(server):
    srv, port = server
    # "hooks.invalid" cannot resolve (RFC 6761): the request can only arrive through the checked address.
    resolve = Resolver(["127.0.0.1"])
    http = WebhookHttp(settings(webhook_allowed_networks=["127.0.0.0/8"]), resolver=resolve)
    assert await http.post(f"http://hooks.invalid:{port}/x", "{}", {}) == 202
    assert srv.hosts == [f"hooks.invalid:{port}"]


async def test_unresolvable_names_are_refused():
    async def nxdomain(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(AddressRefused, match="cannot resolve"):
        await WebhookHttp(settings(), resolver=nxdomain).post("http://hooks.invalid/", "{}", {})


def tls_files(tmp_path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A CA and a server certificate for ``name``: (server context, client context trusting only the CA)."""
    now = datetime.now(UTC)

    def cert(subject: str, key, issuer: str, issuer_key, ca: bool, san: str | None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert("test CA", ca_key, "test CA", ca_key, True, None)
    leaf = cert(name, key, "test CA", ca_key, False, name)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (tmp_path / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    return server, client


async def test_tls_keeps_sni_and_certificate_checks_for_the_host_name(tmp_path):
    server_ctx, client_ctx = tls_files(tmp_path, "hooks.test")
    names: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: names.append(name)
    srv = Server()
    s = await asyncio.start_server(srv.handle, "127.0.0.1", 0, ssl=server_ctx)
    port = s.sockets[0].getsockname()[1]
    try:
        http = WebhookHttp(
            settings(webhook_require_https=True, webhook_allowed_networks=["127.0.0.0/8"]),
            resolver=Resolver(["127.0.0.1"]),
            ssl_context=client_ctx,
        )
        assert await http.post(f"https://hooks.test:{port}/x", "{}", {}) == 202
        assert names == ["hooks.test"] and srv.hosts == [f"hooks.test:{port}"]
        # The same address under a name the certificate does not carry fails verification.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.post(f"https://other.test:{port}/x", "{}", {})
    finally:
        s.close()
        await s.wait_closed()
