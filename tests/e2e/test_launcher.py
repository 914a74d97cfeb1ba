"""``learnloop run`` as a user runs it: ports checked first, one launcher per var/, children never outlive
it, a crashed service is restarted (and nothing is lost), and SIGTERM stops everything within 5 s."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time

import httpx
import pytest
from learnloop_shared.auth import issue_token

from ..helpers import eventually
from ..processes import Launcher, wait_gone

READY = "Learnloop is running."
START_TIMEOUT = 90


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_port_in_use_is_named_with_its_flag_and_nothing_starts(tmp_path):
    launcher = Launcher(tmp_path / "var")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", launcher.ports["learn"]))
        busy.listen()
        proc = subprocess.run(launcher.argv, capture_output=True, text=True, timeout=30, check=False)
    line = _one_line_error(proc)
    port = launcher.ports["learn"]
    assert line == f"learnloop run: port {port} (learn service HTTP) is in use; choose another with --learn-port"
    assert not (tmp_path / "var" / "log").exists()  # nothing was started


def test_a_database_port_in_use_names_the_database(tmp_path):
    launcher = Launcher(tmp_path / "var")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", launcher.ports["mongo"] + 2))
        busy.listen()
        proc = subprocess.run(launcher.argv, capture_output=True, text=True, timeout=30, check=False)
    line = _one_line_error(proc)
    assert f"port {launcher.ports['mongo'] + 2} (notify's database) is in use" in line
    assert "--mongo-port" in line


@pytest.mark.timeout(180)
def test_sigkill_of_the_launcher_leaves_no_process_and_a_second_launcher_is_refused(tmp_path):
    var = tmp_path / "var"
    launcher = Launcher(var, "--no-demo").start()
    try:
        launcher.wait_for(READY, START_TIMEOUT)
        children = launcher.children()
        assert len(children) == 7, children  # broker, three databases, three services

        second = Launcher(var, "--no-demo")  # other ports, same var/
        proc = subprocess.run(second.argv, capture_output=True, text=True, timeout=30, check=False)
        line = _one_line_error(proc)
        assert "already using" in line and str(var.resolve()) in line, line

        assert launcher.proc is not None
        launcher.proc.send_signal(signal.SIGKILL)
        launcher.proc.wait(5)
        left = wait_gone(list(children), timeout=5)
        assert not left, {pid: children[pid] for pid in left}
        # The next run on the same var/ starts (the lock went with the killed launcher), and says that
        # the databases persisted while the topics did not.
        again = Launcher(var, "--no-demo", ports=launcher.ports).start()
        try:
            again.wait_for(READY, START_TIMEOUT)
            assert "keeps its topics in memory" in again.output
        finally:
            again.kill()
    finally:
        launcher.kill()


def _service_pid(launcher: Launcher, service: str) -> int:
    pids = [pid for pid, cmd in launcher.children().items() if f"learnloop_{service} " in cmd + " "]
    assert len(pids) == 1, launcher.children()
    return pids[0]


@pytest.mark.timeout(240)
async def test_a_killed_service_is_restarted_nothing_is_lost_and_sigterm_stops_everything(tmp_path):
    var = tmp_path / "var"
    launcher = Launcher(var).start()  # with the demo directory: bob and carol are in team "platform"
    try:
        await asyncio.to_thread(launcher.wait_for, READY, START_TIMEOUT)
        secret = (var / "auth-secret").read_text().strip()
        share_url = f"http://127.0.0.1:{launcher.ports['share']}"
        notify_url = f"http://127.0.0.1:{launcher.ports['notify']}"
        learn_url = f"http://127.0.0.1:{launcher.ports['learn']}"

        def auth(user: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {issue_token(secret, user, ())}"}

        # the banner's LRS demo credential works as printed
        printed = [line.strip() for line in launcher.output.splitlines() if "export LRS_AUTH=" in line]
        assert len(printed) == 1, launcher.output[-3000:]
        lrs_auth = printed[0].split("=", 1)[1].strip("'")
        assert f"{learn_url}/xapi/statements" in launcher.output
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(
                f"{learn_url}/xapi/statements",
                json={
                    "actor": {"mbox": "mailto:bob@example.com"},
                    "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                    "object": {"id": "http://example.com/activities/launcher"},
                },
                headers={"Authorization": lrs_auth, "X-Experience-API-Version": "1.0.3"},
            )
            assert r.status_code == 200, r.text

        killed = _service_pid(launcher, "share")
        os.kill(killed, signal.SIGKILL)
        await asyncio.to_thread(launcher.wait_for, "share service (pid", 10)
        assert "share.log" in launcher.output

        async with httpx.AsyncClient(timeout=10) as http:

            async def share_ready() -> bool:
                try:
                    return (await http.get(f"{share_url}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            started = time.monotonic()
            await eventually(share_ready, timeout=30, interval=0.2)
            restart_took = time.monotonic() - started
            assert launcher.proc is not None and launcher.proc.poll() is None, launcher.output[-3000:]
            assert _service_pid(launcher, "share") != killed
            assert restart_took < 20, f"share took {restart_took:.1f}s to come back"

            r = await http.post(
                f"{share_url}/v1/shares",
                json={"title": "After the crash", "audience": {"teams": ["platform"]}},
                headers=auth("alice"),
            )
            assert r.status_code == 202, r.text
            sid = r.json()["id"]

            async def notified(user: str) -> bool:
                r = await http.get(f"{notify_url}/v1/notifications", headers=auth(user))
                mine = [n for n in r.json()["items"] if n["share_id"] == sid]
                assert len(mine) <= 1, mine
                return len(mine) == 1

            async def pending(user: str) -> bool:
                r = await http.get(f"{learn_url}/v1/me/learning", headers=auth(user))
                mine = [s for s in r.json()["items"] if s["share_id"] == sid]
                assert len(mine) <= 1, mine
                return len(mine) == 1

            for user in ("bob", "carol"):
                await eventually(lambda user=user: notified(user), timeout=30)
                await eventually(lambda user=user: pending(user), timeout=30)
            r = await http.get(f"{notify_url}/v1/notifications", headers=auth("alice"))
            assert not [n for n in r.json()["items"] if n["share_id"] == sid and n["kind"] == "share.delivered"]

        children = launcher.children()
        assert len(children) == 7, children
        signalled = time.monotonic()
        launcher.proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(launcher.proc.wait, 10)
        left = wait_gone(list(children), timeout=max(0.0, 5 - (time.monotonic() - signalled)))
        took = time.monotonic() - signalled
        assert not left, {pid: children[pid] for pid in left}
        assert took <= 5.5, f"stopping took {took:.1f}s"
        assert code == 0, launcher.output[-3000:]
    finally:
        launcher.kill()
