"""Settings of the learn service (environment variables prefixed ``LEARNLOOP_``)."""

from __future__ import annotations

from learnloop_shared.settings import ServiceSettings
from pydantic import Field


class LearnSettings(ServiceSettings):
    service_name: str = "learn"
    http_port: int = Field(8002, ge=0, le=65535)
    mongo_db: str = "learnloop_learn"
