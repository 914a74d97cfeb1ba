"""Settings of the learn service (environment variables prefixed ``LEARNLOOP_``)."""

from __future__ import annotations

from learnloop_shared.settings import ServiceSettings
from pydantic import Field


class LearnSettings(ServiceSettings):
    service_name: str = "learn"
    http_port: int = Field(8002, ge=0, le=65535)
    mongo_db: str = "learnloop_learn"
    rounds_poll_s: float = Field(1.0, gt=0, description="How often workers look for reminder rounds that are due")
    rounds_lease_s: float = Field(
        30.0,
        gt=0,
        description="A running reminder round is held this long past its last checkpoint; a round whose "
        "runner died is resumed by another after it",
    )
    rounds_batch_size: int = Field(
        1000, ge=1, le=1000, description="Recipients per reminder event and per reminder-round checkpoint"
    )
    manual_reminder_interval_s: float = Field(
        3600.0, gt=0, description="`POST /v1/shares/{id}/reminders` at most once per this many seconds per share"
    )
    learn_public_url: str = Field(
        "http://127.0.0.1:8002",
        description="learn's URL as clients reach it: xAPI activity ids of shares (<url>/xapi/activities/shares/<id>)",
    )
    xapi_account_home_page: str | None = Field(
        None,
        description="homePage of the xAPI account of Learnloop users (actor {account: {homePage, name: user id}}); "
        "default: LEARNLOOP_LEARN_PUBLIC_URL",
    )

    def xapi_home_page(self) -> str:
        return (self.xapi_account_home_page or self.learn_public_url).rstrip("/")
