"""Settings common to every service. Each service subclasses :class:`ServiceSettings` once.

All values come from environment variables prefixed ``LEARNLOOP_`` (see the README's settings
reference, generated from these classes). Secrets may be given as files (``*_FILE`` variables).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Role(StrEnum):
    api = "api"  # HTTP API only
    worker = "worker"  # Kafka consumers only (still serves /healthz, /readyz)
    all = "all"  # both in one process (local mode)

    @property
    def serves_api(self) -> bool:
        return self in (Role.api, Role.all)

    @property
    def consumes(self) -> bool:
        return self in (Role.worker, Role.all)


class Topics(BaseModel):
    """Topic names: the one place they are defined."""

    shares: str = "learnloop.shares"
    deliveries: str = "learnloop.deliveries"
    acknowledgements: str = "learnloop.acknowledgements"
    share_requests: str = "learnloop.share-requests"
    dead_letters: str = "learnloop.dead-letters"


class Partitions(BaseModel):
    shares: int = Field(4, ge=1)
    deliveries: int = Field(8, ge=1)
    acknowledgements: int = Field(4, ge=1)
    share_requests: int = Field(4, ge=1)
    dead_letters: int = Field(1, ge=1)


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", env_nested_delimiter="__", extra="ignore", frozen=True)

    service_name: str = "learnloop"
    role: Role = Role.all
    environment: str = Field("local", description="`local` or `production`; production enforces OIDC")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=0, le=65535)

    kafka_bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers, comma-separated")
    kafka_idempotence: bool = Field(
        False, description="Idempotent producer; turn on for Apache Kafka (the local broker lacks it)"
    )
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_session_timeout_s: float = Field(10.0, gt=0)
    kafka_heartbeat_interval_s: float = Field(3.0, gt=0)
    kafka_rebalance_timeout_s: float = Field(10.0, gt=0)
    kafka_fetch_max_wait_ms: int = Field(100, ge=1, le=5000)
    kafka_create_topics: bool = Field(True, description="Create missing topics at start-up")
    kafka_replication_factor: int = Field(1, ge=1)
    topics: Topics = Topics()
    partitions: Partitions = Partitions()
    consumer_batch_size: int = Field(500, ge=1)
    consumer_batch_window_s: float = Field(0.05, gt=0)

    mongo_url: str = "mongodb://127.0.0.1:27018/?retryWrites=false&directConnection=true"
    mongo_db: str = "learnloop"

    # Authentication: HS256 with a local secret, or OIDC (RS256 via JWKS) in production.
    auth_secret: str | None = Field(None, description="HS256 secret (local mode)")
    auth_secret_file: Path | None = Field(None, description="File holding the HS256 secret")
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_jwks_url: str | None = None
    auth_algorithms: tuple[str, ...] = ("HS256",)

    cors_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to call this API (e.g. the inbox page's origin)"
    )
    data_dir: Path = Field(Path("var"), description="Local working data (faust state, secrets)")
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        if self.auth_jwks_url is None and self.hs256_secret() is None:
            raise ValueError(
                "set LEARNLOOP_AUTH_SECRET or LEARNLOOP_AUTH_SECRET_FILE (local mode), "
                "or LEARNLOOP_AUTH_JWKS_URL with LEARNLOOP_AUTH_ISSUER and LEARNLOOP_AUTH_AUDIENCE (OIDC)"
            )
        if self.environment == "production" and self.auth_jwks_url is None:
            raise ValueError("LEARNLOOP_AUTH_JWKS_URL is required when LEARNLOOP_ENVIRONMENT=production")
        if self.kafka_session_timeout_s < 2 * self.kafka_heartbeat_interval_s:
            raise ValueError(
                "LEARNLOOP_KAFKA_SESSION_TIMEOUT_S must be at least twice LEARNLOOP_KAFKA_HEARTBEAT_INTERVAL_S"
            )
        return self

    def hs256_secret(self) -> str | None:
        if self.auth_secret:
            return self.auth_secret
        if self.auth_secret_file is not None:
            try:
                return self.auth_secret_file.read_text().strip() or None
            except OSError:
                return None
        return None


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment; on error exit with a message naming each variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = [f"invalid configuration for {cls.__name__}:"]
        prefix = cls.model_config.get("env_prefix", "")
        for err in exc.errors():
            loc = "__".join(str(x) for x in err["loc"]).upper()
            name = f"{prefix}{loc}" if loc else "(settings)"
            lines.append(f"  {name}: {err['msg']}")
        sys.stderr.write("\n".join(lines) + "\n")
        raise SystemExit(2) from None
