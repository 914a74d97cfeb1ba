"""Looking at processes from tests: children of a process, whether one still runs, a launcher to drive."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from learnloop_shared.local.launcher import port_is_free
from learnloop_shared.local.servers import free_port


def children_of(pid: int) -> dict[int, str]:
    """Direct children of ``pid``: {pid: command line}."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until none of ``pids`` runs; returns those still running at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def free_port_run(n: int) -> int:
    """The first of ``n`` consecutive free ports."""
    for _ in range(200):
        base = random.randint(20000, 60000)
        if all(port_is_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no run of free ports found")


class Launcher:
    """``learnloop run`` in a subprocess on free ports and its own ``var/``; output collected as it comes."""

    def __init__(self, var: Path, *extra: str, ports: dict[str, int] | None = None) -> None:
        self.var = var
        self.ports = ports or {
            "share": free_port(),
            "learn": free_port(),
            "notify": free_port(),
            "kafka": free_port(),
            "mongo": free_port_run(3),
        }
        self.argv = [str(Path(sys.executable).with_name("learnloop")), "--var", str(var), "run"]
        for name, port in self.ports.items():
            self.argv += [f"--{name}-port", str(port)]
        self.argv += list(extra)
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Launcher:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the rest of its output
                raise AssertionError(f"launcher exited with {self.proc.returncode}:\n{self.output[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} after {timeout}s:\n{self.output[-4000:]}")
            time.sleep(0.1)

    def children(self) -> dict[int, str]:
        assert self.proc is not None
        return children_of(self.proc.pid)

    def kill(self) -> None:
        """SIGKILL the launcher and every process it started (cleanup after a failed test)."""
        if self.proc is None:
            return
        kids = list(self.children())
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in kids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
