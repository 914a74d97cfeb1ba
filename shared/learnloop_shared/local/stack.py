"""The whole system on one machine: broker, database and the three services as child processes.

Used by ``learnloop run`` and by the end-to-end tests, so both exercise the same start-up path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..settings import ServiceSettings
from .servers import LocalInfra, ManagedProcess, stop_all, wait_for_port

log = logging.getLogger(__name__)

SERVICES = ("share", "learn", "notify")
DEFAULT_PORTS = {"share": 8001, "learn": 8002, "notify": 8003}

# The local broker makes a group join wait about half the session timeout: short timeouts make workers ready fast.
LOCAL_KAFKA_TUNING = {
    "LEARNLOOP_KAFKA_SESSION_TIMEOUT_S": "3",
    "LEARNLOOP_KAFKA_HEARTBEAT_INTERVAL_S": "1",
    "LEARNLOOP_KAFKA_REBALANCE_TIMEOUT_S": "3",
    "LEARNLOOP_KAFKA_FETCH_MAX_WAIT_MS": "100",
}


@dataclass
class LocalStack:
    infra: LocalInfra
    ports: dict[str, int]
    var_dir: Path
    secret_file: Path
    db_prefix: str = "learnloop"
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env_for(self, service: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
        env.update(LOCAL_KAFKA_TUNING)
        env.update(
            {
                "LEARNLOOP_KAFKA_BOOTSTRAP": self.infra.bootstrap,
                "LEARNLOOP_MONGO_URL": self.infra.mongo_url_for(service),
                "LEARNLOOP_MONGO_DB": f"{self.db_prefix}_{service}",
                "LEARNLOOP_AUTH_SECRET_FILE": str(self.secret_file),
                "LEARNLOOP_DATA_DIR": str(self.var_dir),
                "LEARNLOOP_HTTP_PORT": str(self.ports[service]),
                "LEARNLOOP_KAFKA_CREATE_TOPICS": "false",
                # The inbox page (served by notify) calls learn and share from the browser.
                "LEARNLOOP_CORS_ORIGINS": json.dumps([self.url("notify"), f"http://localhost:{self.ports['notify']}"]),
                "LEARNLOOP_LEARN_PUBLIC_URL": self.url("learn"),
                "LEARNLOOP_SHARE_PUBLIC_URL": self.url("share"),
                # Local mode: webhooks may go to receivers on this machine, over plain http.
                "LEARNLOOP_WEBHOOK_REQUIRE_HTTPS": "false",
                "LEARNLOOP_WEBHOOK_ALLOWED_NETWORKS": json.dumps(["127.0.0.0/8", "::1/128"]),
            }
        )
        env.update(self.extra_env)
        return env

    def create_topics(self) -> None:
        from ..kafka.topics import ensure_topics

        settings = ServiceSettings(kafka_bootstrap=self.infra.bootstrap, auth_secret="unused")
        asyncio.run(ensure_topics(settings))

    def service_process(self, service: str, role: str = "all") -> ManagedProcess:
        log_dir = self.var_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        return ManagedProcess(
            service,
            [sys.executable, "-m", f"learnloop_{service}", role],
            env=self.env_for(service),
            log_path=log_dir / f"{service}.log",
        )

    def start_services(self, timeout: float = 60.0) -> None:
        for name in SERVICES:
            proc = self.service_process(name)
            self.processes[name] = proc
            proc.start()
        for name in SERVICES:
            self.wait_ready(name, timeout)

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        proc = self.processes[name]
        assert proc.proc is not None
        wait_for_port("127.0.0.1", self.ports[name], timeout, proc.proc)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not proc.running:
                raise RuntimeError(f"{name} exited; see {self.var_dir / 'log' / (name + '.log')}")
            try:
                r = httpx.get(self.url(name) + "/readyz", timeout=2)
                if r.status_code == 200:
                    return
                last = r.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {timeout:.0f}s: {last}")

    def start(self) -> None:
        self.infra.start()
        try:
            self.create_topics()
            self.start_services()
        except BaseException:
            self.stop()
            raise

    def log_path(self, service: str) -> Path:
        return self.var_dir / "log" / f"{service}.log"

    def restart_service(self, name: str) -> ManagedProcess:
        """Start a new process for a service whose process has exited (readiness is not awaited)."""
        old = self.processes.get(name)
        if old is not None:
            old.stop(timeout=5)
        proc = self.service_process(name)
        self.processes[name] = proc
        proc.start()
        return proc

    def stop_services(self, timeout: float = 25.0) -> None:
        """Stop the services in parallel: SIGTERM, then SIGKILL whatever still runs after ``timeout``."""
        stop_all(self.processes.values(), timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop everything within ``timeout`` seconds: the services first (so they can commit and flush
        while the broker and databases still answer), then the broker and databases, each tier in parallel."""
        deadline = time.monotonic() + timeout
        self.stop_services(timeout * 0.6)
        self.infra.stop(max(0.5, deadline - time.monotonic()))
