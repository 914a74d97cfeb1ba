"""Webhook subscriptions, the addresses they may reach, signatures and retry timing. Pure."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from standardwebhooks import Webhook

from .notifications import Kind

EventName = Kind  # a webhook subscribes to notification kinds


MAX_URL_LENGTH = 2048
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class InvalidWebhookUrl(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    """Where a webhook URL points: scheme, host (a name, or an IP literal without brackets) and port."""

    scheme: str
    host: str
    port: int

    @property
    def ip_literal(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
            return True
        except ValueError:
            return False


def parse_url(url: str) -> Target:
    """The target of a webhook URL, or InvalidWebhookUrl naming what is wrong with it.

    Accepted: absolute http(s) URLs up to MAX_URL_LENGTH characters, without credentials, whose host is
    an IP literal or a DNS name and whose port (if given) is 1-65535. Checked at registration and again
    before every attempt (a stored URL may predate a rule).
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"url must be at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidWebhookUrl("url must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 literal
        raise InvalidWebhookUrl(f"url is malformed: {exc}") from exc
    try:
        port = parts.port
    except ValueError as exc:  # not a number, or beyond 65535
        raise InvalidWebhookUrl("url port must be a number between 1 and 65535") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("url must be an absolute http(s) URL")
    if "@" in parts.netloc:
        raise InvalidWebhookUrl("url must not contain credentials")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidWebhookUrl("url port must be a number between 1 and 65535")
    host = parts.hostname
    if not _valid_host(host):
        raise InvalidWebhookUrl(f"url host {host!r} is neither an IP address nor a DNS name")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.removesuffix(".").split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    events: list[EventName] = Field(min_length=1, max_length=10, description="Notification kinds to deliver")
    secret: str = Field(min_length=10, max_length=200, description="Standard Webhooks secret, `whsec_<base64>`")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parse_url(value)
        return value

    @field_validator("secret")
    @classmethod
    def _standard_secret(cls, value: str) -> str:
        if not value.startswith("whsec_"):
            raise ValueError("secret must be a Standard Webhooks secret: 'whsec_' followed by base64")
        try:
            Webhook(value)
        except Exception as exc:
            raise ValueError("secret must be 'whsec_' followed by valid base64") from exc
        return value


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    updated_at: datetime


class DeliveryOut(BaseModel):
    id: str
    notification_id: str
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    delivered_at: datetime | None = None


class AddressRefused(ValueError):
    pass


def check_scheme(url: str, require_https: bool) -> None:
    if require_https and urlsplit(url).scheme != "https":
        raise AddressRefused("only https webhook URLs are allowed")


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))  # RFC 6052, 8215
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # ::a.b.c.d, deprecated (RFC 4291)
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # ::ffff:0:a.b.c.d (RFC 2765 SIIT)


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, which a translator or tunnel would deliver to.

    NAT64 (64:ff9b::/96, 64:ff9b:1::/48: the last 32 bits), IPv4-compatible (::/96), IPv4-mapped
    (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96), 6to4 (2002::/16: bits 16-48) and Teredo
    (2001::/32: the server at bits 32-64, the client in the last 32 bits inverted).
    """
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _COMPATIBLE or ip in _TRANSLATED or any(ip in net for net in _NAT64):
        found.append(low32)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _public(ip: IPAddress) -> bool:
    return ip.is_global and not ip.is_multicast


def refusal(address: str, allowed: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str | None:
    """Why a webhook may not connect to ``address``, or None if it may.

    Allowed: an address inside one of the ``allowed`` networks, or a public (globally reachable, not
    multicast) address every embedded IPv4 of which is public too — so ``64:ff9b::a9fe:a9fe`` (NAT64 to
    169.254.169.254) is refused although Python calls the IPv6 address itself global.
    """
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip.version == net.version and ip in net for net in allowed):
        return None
    if not _public(ip):
        return f"address {ip} is not a public address"
    for v4 in embedded_ipv4(ip):
        if not _public(v4):
            return f"address {ip} embeds {v4}, which is not a public address"
    return None


def allowed_networks(networks: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in networks]


def check_addresses(addresses: Iterable[str], allowed: Iterable[str]) -> None:
    """Refuse unless every address may be reached (see :func:`refusal`); no address at all is refused."""
    nets = allowed_networks(allowed)
    found = False
    for address in addresses:
        found = True
        reason = refusal(address, nets)
        if reason:
            raise AddressRefused(reason)
    if not found:
        raise AddressRefused("host did not resolve")


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """Exponential: base, 2×base, 4×base … capped."""
    return float(min(max_s, base_s * 2 ** max(0, attempt - 1)))


def sign(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """Standard Webhooks headers for one delivery attempt."""
    signature = Webhook(secret).sign(msg_id, at, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/cloudevents+json",
    }
