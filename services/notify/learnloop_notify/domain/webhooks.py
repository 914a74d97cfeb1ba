"""Webhook subscriptions, the addresses they may reach, signatures and retry timing. Pure."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from standardwebhooks import Webhook

EventName = Literal["share.delivered", "feedback"]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    events: list[EventName] = Field(min_length=1, max_length=10, description="Notification kinds to deliver")
    secret: str = Field(min_length=10, max_length=200, description="Standard Webhooks secret, `whsec_<base64>`")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http(s) URL")
        if parts.username or parts.password:
            raise ValueError("url must not contain credentials")
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


def check_addresses(addresses: list[str], allowed: list[str]) -> None:
    """Refuse private, loopback, link-local and other non-public addresses unless explicitly allowed."""
    nets = [ipaddress.ip_network(n, strict=False) for n in allowed]
    if not addresses:
        raise AddressRefused("host did not resolve")
    for a in addresses:
        ip = ipaddress.ip_address(a.split("%")[0])
        if any(ip in n for n in nets):
            continue
        if not ip.is_global or ip.is_multicast:
            raise AddressRefused(f"address {ip} is not a public address")


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
