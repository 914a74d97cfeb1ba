"""Settings of the notify service (environment variables prefixed ``LEARNLOOP_``)."""

from __future__ import annotations

from learnloop_shared.settings import ServiceSettings
from pydantic import Field


class NotifySettings(ServiceSettings):
    service_name: str = "notify"
    http_port: int = Field(8003, ge=0, le=65535)
    mongo_db: str = "learnloop_notify"
