"""Settings of the share service (environment variables prefixed ``LEARNLOOP_``)."""

from __future__ import annotations

from learnloop_shared.settings import ServiceSettings
from pydantic import Field


class ShareSettings(ServiceSettings):
    service_name: str = "share"
    http_port: int = Field(8001, ge=0, le=65535)
    mongo_db: str = "learnloop_share"
    fanout_batch_size: int = Field(1000, ge=1, le=50_000, description="Recipients per fan-out batch")
    fanout_status_check_s: float = Field(
        1.0, gt=0, le=60, description="Seconds between a running fan-out's reads of its share (stops when retracted)"
    )
    republish_batch_size: int = Field(
        1000, ge=1, le=1000, description="Users (or teams) per directory-republish batch and checkpoint"
    )
    republish_lease_s: float = Field(
        30.0,
        gt=0,
        description="A running directory republish is held this long past its last checkpoint; one whose "
        "runner died is resumed by another after it",
    )
    republish_poll_s: float = Field(1.0, gt=0, description="How often workers look for a directory republish to run")
