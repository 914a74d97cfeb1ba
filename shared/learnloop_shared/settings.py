"""Settings common to every service. Each service subclasses :class:`ServiceSettings` once.

All values come from environment variables prefixed ``LEARNLOOP_`` (see the README's settings
reference, generated from these classes). Secrets may be given as files (``*_FILE`` variables).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
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
    """Topic names: the one place they are defined. A new topic also needs a partition count in
    :class:`Partitions` and its key and events in ``learnloop_shared.asyncapi.TOPIC_CONTRACTS``."""

    shares: str = Field(
        "learnloop.shares", description="`share.*` events (published, revised, retracted, built_on), keyed by share"
    )
    deliveries: str = Field("learnloop.deliveries", description="`share.delivered` events, keyed by recipient")
    acknowledgements: str = Field(
        "learnloop.acknowledgements",
        description="`learning.*` events (acknowledged, answered, reminded, overdue), keyed by share",
    )
    share_requests: str = Field("learnloop.share-requests", description="Share requests from other systems")
    directory: str = Field(
        "learnloop.directory",
        description="`directory.*` events (user_changed, team_changed), keyed by user or team id; compacted",
    )
    dead_letters: str = Field("learnloop.dead-letters", description="Events no consumer could process")


class Partitions(BaseModel):
    """Partition counts of topics created at start-up (a role scales up to the partitions it reads)."""

    shares: int = Field(4, ge=1, description="Partitions of the shares topic")
    deliveries: int = Field(8, ge=1, description="Partitions of the deliveries topic")
    acknowledgements: int = Field(4, ge=1, description="Partitions of the acknowledgements topic")
    share_requests: int = Field(4, ge=1, description="Partitions of the share requests topic")
    directory: int = Field(4, ge=1, description="Partitions of the directory topic")
    dead_letters: int = Field(1, ge=1, description="Partitions of the dead-letter topic")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_", env_nested_delimiter="__", extra="ignore", frozen=True)

    service_name: str = Field("learnloop", description="Service name (names the consumer group and the event source)")
    role: Role = Field(Role.all, description="`api` (HTTP), `worker` (Kafka consumers) or `all` (both)")
    environment: str = Field("local", description="`local` or `production`; production enforces OIDC")
    http_host: str = Field("127.0.0.1", description="Interface the HTTP server binds to")
    http_port: int = Field(8000, ge=0, le=65535, description="HTTP port (API, or only health and metrics for workers)")
    http_max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted; a larger one gets 413 before it is read"
    )

    kafka_bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers, comma-separated")
    kafka_idempotence: bool = Field(
        False, description="Idempotent producer; turn on for Apache Kafka (the local broker lacks it)"
    )
    kafka_security_protocol: str = Field("PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    kafka_sasl_mechanism: str | None = Field(None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    kafka_sasl_username: str | None = Field(None, description="SASL user name")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (prefer the _FILE variant)")
    kafka_sasl_password_file: Path | None = Field(None, description="File holding the SASL password")
    kafka_group_prefix: str = Field(
        "learnloop", description="Consumer groups are `<prefix>-<service>`; change it to share a cluster"
    )
    kafka_session_timeout_s: float = Field(10.0, gt=0, description="Consumer group session timeout")
    kafka_heartbeat_interval_s: float = Field(3.0, gt=0, description="Consumer group heartbeat interval")
    kafka_rebalance_timeout_s: float = Field(10.0, gt=0, description="Consumer group rebalance timeout")
    kafka_fetch_max_wait_ms: int = Field(100, ge=1, le=5000, description="Longest a fetch waits for new records")
    kafka_max_request_bytes: int = Field(
        1048576,
        ge=65536,
        description="Largest produce request (aiokafka `max_request_size`); keep it at or below the broker's "
        "`message.max.bytes`. Dead letters are cut to fit it",
    )
    kafka_create_topics: bool = Field(True, description="Create missing topics at start-up")
    kafka_replication_factor: int = Field(1, ge=1, description="Replication factor of topics created at start-up")
    kafka_recovery_window_s: float = Field(
        86400.0,
        gt=0,
        description="On a new Kafka cluster (e.g. the local broker restarted empty): re-send events and "
        "re-drive fan-outs from this far back",
    )
    topics: Topics = Topics()
    partitions: Partitions = Partitions()
    consumer_batch_size: int = Field(500, ge=1, description="Most events a consumer handles in one batch")
    consumer_batch_window_s: float = Field(0.05, gt=0, description="Longest a consumer waits to fill a batch")
    consumer_stall_s: float = Field(
        60.0,
        gt=0,
        description="A partition with work in hand and no progress for this long is reported stalled "
        "(`/readyz` 503, metric, log)",
    )
    consumer_rejoin_timeout_s: float = Field(
        60.0,
        gt=0,
        description="A consumer out of its group this long is restarted; out twice as long, `/healthz` fails",
    )

    mongo_url: SecretStr = Field(
        SecretStr("mongodb://127.0.0.1:27018/?retryWrites=false&directConnection=true"),
        description="MongoDB connection string (prefer the _FILE variant when it holds credentials)",
    )
    mongo_url_file: Path | None = Field(None, description="File holding the MongoDB connection string")
    mongo_db: str = Field("learnloop", description="The service's own database")

    # Authentication: HS256 with a local secret, or OIDC (RS256 via JWKS) in production.
    auth_secret: SecretStr | None = Field(None, description="HS256 secret (local mode)")
    auth_secret_file: Path | None = Field(None, description="File holding the HS256 secret")
    auth_issuer: str | None = Field(None, description="Expected token issuer (OIDC)")
    auth_audience: str | None = Field(None, description="Expected token audience (OIDC)")
    auth_jwks_url: str | None = Field(None, description="JWKS URL of the identity provider (OIDC)")
    auth_algorithms: tuple[str, ...] = Field(("HS256",), description="Accepted token algorithms")

    shutdown_http_timeout_s: float = Field(
        10.0, gt=0, description="On SIGTERM: longest to wait for in-flight HTTP requests"
    )
    shutdown_consumer_timeout_s: float = Field(
        10.0, gt=0, description="On SIGTERM: longest to finish in-flight event batches and commit"
    )

    cors_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to call this API (e.g. the inbox page's origin)"
    )
    data_dir: Path = Field(Path("var"), description="Local working data (faust state, secrets)")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_json: bool = Field(True, description="JSON log lines (with trace and span ids)")

    @field_validator("kafka_sasl_password_file", "mongo_url_file")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is not None:
            _read_secret(path)
        return path

    @model_validator(mode="after")
    def _check(self) -> Self:
        # Secrets given as files replace the plain values (the model is frozen, hence object.__setattr__).
        if self.mongo_url_file is not None:
            object.__setattr__(self, "mongo_url", SecretStr(_read_secret(self.mongo_url_file)))
        if self.kafka_sasl_password_file is not None:
            object.__setattr__(self, "kafka_sasl_password", SecretStr(_read_secret(self.kafka_sasl_password_file)))
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

    @property
    def consumer_group(self) -> str:
        return f"{self.kafka_group_prefix}-{self.service_name}"

    def hs256_secret(self) -> str | None:
        """The HS256 secret: the file's content when LEARNLOOP_AUTH_SECRET_FILE is set, else LEARNLOOP_AUTH_SECRET."""
        if self.auth_secret_file is not None:
            try:
                return self.auth_secret_file.read_text().strip() or None
            except OSError:
                return None
        if self.auth_secret is not None and self.auth_secret.get_secret_value():
            return self.auth_secret.get_secret_value()
        return None


def _read_secret(path: Path) -> str:
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not value:
        raise ValueError(f"{path} is empty")
    return value


S = TypeVar("S", bound=BaseSettings)


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
