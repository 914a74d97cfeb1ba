"""What ``learnloop run`` needs beyond starting processes: free ports, one launcher per ``var/``, and
supervision (restart what crashed, with backoff; give up if it keeps crashing).

Supervision decides per kind of process:

- a service: restarted on its own; the others carry on (their consumers and the outbox relay retry).
- a database: restarted on its port and storage; its data persists, the services reconnect.
- the broker: a new, empty broker is started on the same port (its topics live in memory), the topics
  are created again and the services restarted, so that each notices the new cluster and re-sends
  what the old broker may not have delivered (see ``learnloop_shared.recovery``).

Restarts are done from the calling (main) thread: children die with the thread that started them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .servers import ManagedProcess
from .stack import SERVICES, LocalStack

log = logging.getLogger(__name__)


# --- ports ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortUse:
    port: int
    purpose: str  # e.g. "share service HTTP"
    flag: str  # the option that changes it


def port_is_free(port: int) -> bool:
    """True if a server could listen on 127.0.0.1:``port`` now (SO_REUSEADDR, as servers bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_problem(uses: list[PortUse]) -> str | None:
    """The first problem with the planned ports as one line, or None: a port given twice, or in use."""
    seen: dict[int, PortUse] = {}
    for use in uses:
        if not 0 < use.port < 65536:
            return f"port {use.port} ({use.purpose}) is not a valid port; choose another with {use.flag}"
        if use.port in seen:
            other = seen[use.port]
            return (
                f"port {use.port} is planned for both {other.purpose} and {use.purpose}; choose another with {use.flag}"
            )
        seen[use.port] = use
    for use in uses:
        if not port_is_free(use.port):
            return f"port {use.port} ({use.purpose}) is in use; choose another with {use.flag}"
    return None


# --- one launcher per var/ -------------------------------------------------------------------------------


class AlreadyRunning(Exception):
    pass


class VarLock:
    """An exclusive ``flock`` on ``<var>/run.lock``, held for the launcher's life.

    The kernel releases it when the launcher exits, however it exits, so a stale lock file never blocks.
    The file descriptor is not inherited by children (Python opens files non-inheritable).
    """

    def __init__(self, var: Path) -> None:
        self.path = var / "run.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise AlreadyRunning(holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# --- supervision -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestartPolicy:
    """Restart with exponential backoff; give up after more than ``max_restarts`` crashes in ``window_s``."""

    max_restarts: int = 5
    window_s: float = 60.0
    backoff_base_s: float = 0.2
    backoff_max_s: float = 10.0

    def backoff(self, recent_crashes: int) -> float:
        return float(min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, recent_crashes - 1)))


@dataclass
class Unit:
    """One supervised thing: how to find its current process and how to bring it back."""

    name: str
    log_path: Path
    process: Callable[[], ManagedProcess | None]
    restart: Callable[[], None]
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


class GiveUp(Exception):
    pass


class Supervisor:
    def __init__(self, stack: LocalStack, policy: RestartPolicy, ready_timeout: float = 60.0) -> None:
        self.stack = stack
        self.policy = policy
        self.ready_timeout = ready_timeout
        infra, logs = stack.infra, stack.var_dir / "log"
        self.units: list[Unit] = [
            Unit("kafka broker", logs / "kafka.log", lambda: infra.broker, self._restart_broker),
            *(
                Unit(
                    f"{name}'s database",
                    logs / f"mongo-{name}.log",
                    lambda name=name: infra.databases.get(name),  # type: ignore[misc]
                    lambda name=name: infra.restart_database(name),  # type: ignore[misc]
                )
                for name in infra.databases
            ),
            *(
                Unit(
                    f"{name} service",
                    stack.log_path(name),
                    lambda name=name: stack.processes.get(name),  # type: ignore[misc]
                    lambda name=name: self._restart_service(name),  # type: ignore[misc]
                )
                for name in SERVICES
            ),
        ]

    def tick(self, now: float | None = None) -> None:
        """Notice what died and restart what is due. Raises :class:`GiveUp` if something keeps crashing."""
        now = time.monotonic() if now is None else now
        for unit in self.units:
            proc = unit.process()
            if unit.restart_at is None and proc is not None and not proc.running:
                self._crashed(unit, proc, now)
        for unit in self.units:
            if unit.restart_at is not None and unit.restart_at <= now:
                unit.restart_at = None
                log.info("restarting the %s", unit.name)
                unit.restart()

    def _crashed(self, unit: Unit, proc: ManagedProcess, now: float) -> None:
        code = proc.proc.returncode if proc.proc is not None else None
        while unit.crashes and unit.crashes[0] < now - self.policy.window_s:
            unit.crashes.popleft()
        unit.crashes.append(now)
        if len(unit.crashes) > self.policy.max_restarts:
            raise GiveUp(
                f"the {unit.name} crashed {len(unit.crashes)} times within {self.policy.window_s:.0f}s "
                f"(last exit status {code}); giving up. Its log: {unit.log_path}"
            )
        delay = self.policy.backoff(len(unit.crashes))
        log.warning(
            "the %s (pid %s) exited with status %s; its log: %s. Restarting it in %.1fs "
            "(crash %d; more than %d within %.0fs and the launcher gives up)",
            unit.name,
            proc.pid,
            code,
            unit.log_path,
            delay,
            len(unit.crashes),
            self.policy.max_restarts,
            self.policy.window_s,
        )
        unit.restart_at = now + delay

    def _restart_service(self, name: str) -> None:
        self.stack.restart_service(name)
        self._report_ready(name)

    def _restart_broker(self) -> None:
        self.stack.infra.restart_broker()
        self.stack.create_topics()
        log.warning(
            "started a new, empty broker and created the topics; restarting the services so that they "
            "re-send what the old broker may not have delivered"
        )
        self.stack.stop_services(timeout=3)
        for unit in self.units:
            if unit.name.endswith(" service"):
                unit.restart_at = None  # restarted just below
        for name in SERVICES:
            self._restart_service(name)

    def _report_ready(self, name: str) -> None:
        """Log when a restarted service is ready again (waits in a thread; starts nothing)."""

        def wait() -> None:
            with contextlib.suppress(Exception):
                started = time.monotonic()
                self.stack.wait_ready(name, self.ready_timeout)
                log.info("the %s service is ready again (%.1fs)", name, time.monotonic() - started)

        threading.Thread(target=wait, name=f"ready-{name}", daemon=True).start()
