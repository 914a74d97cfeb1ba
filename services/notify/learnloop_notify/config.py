"""Settings of the notify service (environment variables prefixed ``LEARNLOOP_``)."""

from __future__ import annotations

import ipaddress

from learnloop_shared.settings import ServiceSettings
from pydantic import Field, field_validator


class NotifySettings(ServiceSettings):
    service_name: str = "notify"
    http_port: int = Field(8003, ge=0, le=65535)
    mongo_db: str = "learnloop_notify"
    digest_window_s: int = Field(900, ge=1, description="Default feedback digest window (authors may choose their own)")
    digest_poll_s: float = Field(1.0, gt=0, description="How often workers look for digests that are due")
    held_poll_s: float = Field(1.0, gt=0, description="How often workers release notifications held during quiet hours")
    webhook_max_attempts: int = Field(8, ge=1, le=50, description="Attempts before a delivery is dead-lettered")
    webhook_backoff_base_s: float = Field(2.0, gt=0, description="First retry delay; doubles each attempt")
    webhook_backoff_max_s: float = Field(3600.0, gt=0)
    webhook_timeout_s: float = Field(
        5.0, gt=0, le=60, description="Time one attempt may take: resolve, connect, send, read"
    )
    webhook_max_response_bytes: int = Field(65536, ge=0, description="Response bytes read at most")
    webhook_concurrency: int = Field(16, ge=1, le=512, description="Webhooks delivered in parallel per worker")
    webhook_require_https: bool = Field(True, description="Refuse http:// webhook URLs (keep on in production)")
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Non-public networks webhooks may reach (e.g. 127.0.0.0/8 in tests); all others are refused",
    )
    learn_public_url: str = Field("http://127.0.0.1:8002", description="learn's API as browsers reach it (inbox page)")
    share_public_url: str = Field("http://127.0.0.1:8001", description="share's API as browsers reach it (inbox page)")

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # a typo fails start-up, not every delivery
        return value
