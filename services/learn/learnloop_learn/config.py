"""Settings of the learn service (environment variables prefixed ``LEARNLOOP_``)."""

from __future__ import annotations

from pydantic import Field

from learnloop_shared.settings import ServiceSettings


class LearnSettings(ServiceSettings):
    service_name: str = "learn"
    http_port: int = Field(8002, ge=0, le=65535)
    mongo_db: str = "learnloop_learn"
