"""Helpers shared by the benchmarks: output, CPU accounting, the stack's processes, seeding users."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import httpx
from learnloop_shared.local.stack import LocalStack

from ..helpers import metric

BATCH = 1000


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class CpuMeter:
    """CPU seconds each named process spends inside a ``with`` block."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.spent: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return self

    def __exit__(self, *exc: object) -> None:
        self.spent = {name: round(cpu_seconds(pid) - self._start[name], 2) for name, pid in self.pids.items()}


def process_ids(stack: LocalStack) -> dict[str, int]:
    """Every process of the local stack by name: services, ``db-<service>`` servers and ``kafka``."""
    named = {name: p.proc for name, p in stack.processes.items()}
    named |= {f"db-{name}": p.proc for name, p in stack.infra.databases.items()}
    named["kafka"] = stack.infra.broker.proc if stack.infra.broker else None
    return {name: proc.pid for name, proc in named.items() if proc is not None}


async def seed_users(share_url: str, token: str, n: int, topic: str) -> None:
    """``n`` users subscribed to ``topic``, through the directory-sync endpoint (``PUT /v1/users``)."""
    async with httpx.AsyncClient(base_url=share_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for i in range(0, n, BATCH):
            users = [
                {"id": f"{topic}-u{j:07d}", "name": f"User {j}", "topics": [topic]} for j in range(i, min(n, i + BATCH))
            ]
            (await c.put("/v1/users", json={"users": users})).raise_for_status()


class RssSampler:
    """Peak resident memory of each service process while a run is going on."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak: dict[str, int] = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            for name, pid in self.pids.items():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            self.peak[name] = max(self.peak[name], int(line.split()[1]) * 1024)
                except OSError:
                    pass

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def wait_counted(url: str, name: str, labels: dict[str, str], total: int, timeout: float) -> None:
    """Wait until a service's counter reaches ``total``.

    Read from the service's ``/metrics``, not by counting documents: a count is a collection scan on
    the local database server, and polling it would slow down the very writes being measured.
    """
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=10) as client:
        while metric((await client.get(f"{url}/metrics")).text, name, **labels) < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: {name} below {total} after {timeout:.0f}s")
            await asyncio.sleep(0.25)
