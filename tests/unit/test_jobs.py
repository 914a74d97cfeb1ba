"""The periodic job runner: passes repeat, a failed pass is retried after a backoff and the job goes on,
shutdown cancels the pass in hand and closes the job."""

from __future__ import annotations

import asyncio

from learnloop_shared.jobs import Job, JobRunner


async def wait_for(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.005)


async def test_a_failing_pass_is_retried_and_the_job_goes_on():
    passes: list[str] = []

    async def run() -> None:
        passes.append("pass")
        if len(passes) <= 2:
            raise RuntimeError("database unavailable")

    runner = JobRunner([Job("flaky", run, every_s=0.001)])
    runner.start()
    await wait_for(lambda: len(passes) >= 5)
    await runner.stop()


async def test_stop_cancels_the_pass_in_hand_and_closes_the_job():
    started, closed = asyncio.Event(), []

    async def run() -> None:
        started.set()
        await asyncio.sleep(3600)

    async def close() -> None:
        closed.append(True)

    runner = JobRunner([Job("slow", run, every_s=1.0, close=close)])
    runner.start()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(runner.stop(), 5)
    assert closed == [True]
