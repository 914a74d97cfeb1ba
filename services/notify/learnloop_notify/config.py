"""Settings of the notify service (environment variables prefixed ``LEARNLOOP_``)."""

from __future__ import annotations

from learnloop_shared.settings import ServiceSettings
from pydantic import Field


class NotifySettings(ServiceSettings):
    service_name: str = "notify"
    http_port: int = Field(8003, ge=0, le=65535)
    mongo_db: str = "learnloop_notify"
    learn_public_url: str = Field("http://127.0.0.1:8002", description="learn's API as browsers reach it (inbox page)")
    share_public_url: str = Field("http://127.0.0.1:8001", description="share's API as browsers reach it (inbox page)")
