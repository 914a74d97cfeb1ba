"""Periodic jobs: declared on a service definition, run by one :class:`JobRunner` in the runtime.

A job is one pass of work (``run``) repeated every ``every_s`` seconds. The runner owns what every such
loop needs: a failed pass is logged, counted (``learnloop.jobs.failed``) and retried after a backoff that
doubles up to ``max_backoff_s`` and resets after a pass that succeeds; shutdown cancels the passes in
hand and then calls each job's ``close``. Jobs run in every replica of their role, so a pass must be
safe to run concurrently with the same pass elsewhere (leases, conditional updates, idempotent ids).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], Awaitable[Any]]
    every_s: float
    runs_on: Literal["api", "worker"] = "worker"  # which role's processes run it
    max_backoff_s: float = 30.0
    close: Callable[[], Awaitable[None]] | None = None  # after the last pass, on shutdown


class JobRunner:
    def __init__(self, jobs: Sequence[Job]) -> None:
        self.jobs = list(jobs)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"job {job.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for job in self.jobs:
            if job.close is not None:
                try:
                    await job.close()
                except Exception:
                    log.exception("job %s: close failed", job.name)

    async def _loop(self, job: Job) -> None:
        failures = 0
        while True:
            try:
                await job.run()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                metrics.JOB_FAILURES.add(1, {"learnloop.job": job.name})
                log.warning("job %s failed (%d in a row): %r", job.name, failures, exc, extra={"job": job.name})
            delay = job.every_s if not failures else min(job.max_backoff_s, job.every_s * 2**failures)
            await asyncio.sleep(delay)
