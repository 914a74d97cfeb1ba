"""Settings of the learn service (environment variables prefixed ``LEARNLOOP_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from learnloop_shared.settings import ServiceSettings
from learnloop_shared.settings import _read_secret as read_secret  # the same rules as the shared secrets' files
from pydantic import Field, SecretStr, field_validator, model_validator

from .domain.xapi.loop import DEFAULT_VERB_MAP, check_verb_map


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
    xapi_document_max_bytes: int = Field(
        1_000_000,
        ge=1024,
        le=10_000_000,
        description="Largest xAPI document (State, Activity Profile, Agent Profile) the LRS stores; larger is 413 "
        "(keep it under LEARNLOOP_HTTP_MAX_BODY_BYTES)",
    )
    lrs_max_credentials: int = Field(
        1_000, ge=1, le=100_000, description="How many LRS credentials may exist; creating one more is 409"
    )

    def xapi_home_page(self) -> str:
        return (self.xapi_account_home_page or self.learn_public_url).rstrip("/")

    xapi_verb_map: dict[str, str] | None = Field(
        None,
        description="xAPI loop in: JSON object, verb IRI -> `opened`, `learned` or `applied` (at most 100); replaces "
        'the default table (README "xAPI verbs"). `{}` takes nothing in',
    )
    xapi_loop_in_grace_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="xAPI loop in: a stored statement the request did not take in (a crash, a failure) is taken by "
        "the sweep after this long; also how long a claim on a statement lasts",
    )
    xapi_loop_in_sweep_s: float = Field(
        5.0, gt=0, description="xAPI loop in: how often workers look for statements waiting to be taken in"
    )

    @field_validator("xapi_verb_map")
    @classmethod
    def _verb_map(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else check_verb_map(value)

    def xapi_verbs(self) -> dict[str, str]:
        """The loop in's verb map: the setting, or the default table."""
        return dict(DEFAULT_VERB_MAP) if self.xapi_verb_map is None else self.xapi_verb_map

    xapi_forward_url: str | None = Field(
        None,
        description="Forward every statement stored from now on to this LRS (its xAPI base, e.g. "
        "https://lrs.example/xapi; statements go to <url>/statements). Unset: no forwarding",
    )
    xapi_forward_username: str | None = Field(None, description="HTTP Basic user (key) for the forwarding LRS")
    xapi_forward_password: SecretStr | None = Field(
        None, description="HTTP Basic password (secret) for the forwarding LRS (prefer the _FILE variant)"
    )
    xapi_forward_password_file: Path | None = Field(None, description="File holding the forwarding LRS's password")
    xapi_forward_version: Literal["1.0.3", "2.0.0"] = Field(
        "1.0.3", description="X-Experience-API-Version sent to the forwarding LRS"
    )
    xapi_forward_batch_size: int = Field(100, ge=1, le=1000, description="Statements per request to the forwarding LRS")
    xapi_forward_max_backoff_s: float = Field(
        300.0,
        gt=0,
        description="Longest wait between failed attempts to forward (doubling from 1 s; a longer Retry-After, "
        "up to an hour, is honoured)",
    )
    xapi_forward_poll_s: float = Field(1.0, gt=0, description="How often workers look for statements to forward")
    xapi_forward_timeout_s: float = Field(30.0, gt=0, description="Timeout of one request to the forwarding LRS")

    @field_validator("xapi_forward_url")
    @classmethod
    def _forward_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold credentials: use LEARNLOOP_XAPI_FORWARD_USERNAME and _PASSWORD(_FILE)")
        return url.strip().rstrip("/")

    @field_validator("xapi_forward_password_file")
    @classmethod
    def _forward_password_readable(cls, path: Path | None) -> Path | None:
        if path is not None:
            read_secret(path)
        return path

    @model_validator(mode="after")
    def _forward_credentials(self) -> Self:
        if self.xapi_forward_password_file is not None:
            secret = SecretStr(read_secret(self.xapi_forward_password_file))
            object.__setattr__(self, "xapi_forward_password", secret)  # frozen model: as for the other secrets
        if self.xapi_forward_password is not None and self.xapi_forward_username is None:
            raise ValueError("LEARNLOOP_XAPI_FORWARD_PASSWORD needs LEARNLOOP_XAPI_FORWARD_USERNAME")
        return self

    def xapi_forward_lease_s(self) -> float:
        """How long a forwarding runner holds its lease past its last step: longer than a request can take."""
        return 2 * self.xapi_forward_timeout_s + 10
