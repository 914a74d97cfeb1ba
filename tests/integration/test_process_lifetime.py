"""Every process the project starts (launcher and test fixtures alike) dies with the process that started it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

from learnloop_shared.local.servers import ManagedProcess, stop_all

from ..processes import alive, wait_gone

SPAWNER = textwrap.dedent(
    """
    import sys, time
    from learnloop_shared.local.servers import ManagedProcess
    kids = [ManagedProcess(f"sleeper{i}", ["sleep", "300"]) for i in range(3)]
    for k in kids:
        k.start()
    print(" ".join(str(k.pid) for k in kids), flush=True)
    time.sleep(300)
    """
)


def test_children_die_when_their_parent_is_killed_with_sigkill():
    spawner = subprocess.Popen([sys.executable, "-c", SPAWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert spawner.stdout is not None
        pids = [int(p) for p in spawner.stdout.readline().split()]
        assert len(pids) == 3 and all(alive(p) for p in pids)
        spawner.send_signal(signal.SIGKILL)
        spawner.wait(5)
        assert not wait_gone(pids, timeout=5)
    finally:
        spawner.kill()


def test_stop_all_stops_in_parallel_and_kills_what_ignores_sigterm():
    stubborn = [
        ManagedProcess(
            f"stubborn{i}",
            [
                sys.executable,
                "-c",
                "import signal,time; signal.signal(15, signal.SIG_IGN); print(1, flush=True); time.sleep(300)",
            ],
        )
        for i in range(3)
    ]
    for p in stubborn:
        p.start()
    time.sleep(0.5)  # let them install their handler
    started = time.monotonic()
    stop_all(stubborn, timeout=1.0)
    took = time.monotonic() - started
    assert all(not p.running for p in stubborn)
    assert took < 2.5, f"{took:.1f}s: stopped one after another, not in parallel"
