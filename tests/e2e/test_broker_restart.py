"""The broker goes away with deliveries nobody consumed yet; a new, empty broker takes its place.

The local broker keeps its topics in memory while the databases persist. Each service notices the new
cluster id at start-up: share's outbox re-sends ``share.published`` and share re-drives the fan-out, so
every recipient still gets exactly one inbox notification and learn records each recipient once.
Runs on a broker and databases of its own, so the session's stack is not disturbed.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from learnloop_shared.auth import ensure_local_secret, issue_token
from learnloop_shared.local.servers import LocalInfra, free_port, stop_all
from learnloop_shared.local.stack import SERVICES, LocalStack

from ..helpers import eventually
from .conftest import TEST_ENV

RECIPIENTS = [f"member-{i:02d}" for i in range(20)]


@pytest.mark.timeout(240)
async def test_deliveries_lost_with_the_broker_reach_every_recipient_once(tmp_path):
    infra = LocalInfra.on_free_ports(SERVICES, log_dir=tmp_path / "log")
    ensure_local_secret(tmp_path / "auth-secret")
    stack = LocalStack(
        infra=infra,
        ports={n: free_port() for n in SERVICES},
        var_dir=tmp_path,
        secret_file=tmp_path / "auth-secret",
        db_prefix="br",
        extra_env=TEST_ENV,
    )
    infra.start()  # processes are started from the main thread: they die with the thread that started them

    async def start_services() -> None:
        await asyncio.to_thread(stack.create_topics)
        for name in SERVICES:
            stack.restart_service(name)
        for name in SERVICES:
            await asyncio.to_thread(stack.wait_ready, name, 60)

    try:
        await start_services()
        secret = stack.secret_file.read_text().strip()

        def auth(user: str, *scopes: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {issue_token(secret, user, scopes)}"}

        async with httpx.AsyncClient(timeout=15) as http:
            r = await http.put(
                f"{stack.url('share')}/v1/teams/crew",
                json={"name": "Crew", "members": RECIPIENTS},
                headers=auth("admin", "directory:write"),
            )
            assert r.status_code == 200, r.text
            # Nobody consumes: learn and notify are down while share fans out.
            stop_all([stack.processes["learn"], stack.processes["notify"]], timeout=10)
            r = await http.post(
                f"{stack.url('share')}/v1/shares",
                json={"title": "Survives the broker", "audience": {"teams": ["crew"]}},
                headers=auth("author"),
            )
            assert r.status_code == 202, r.text
            sid = r.json()["id"]

            async def fanned_out() -> bool:
                r = await http.get(f"{stack.url('share')}/v1/shares/{sid}", headers=auth("author"))
                return bool(r.json()["status"] == "delivered")

            await eventually(fanned_out, timeout=30)

            # The broker goes away with everything on it; a new, empty one starts on the same port.
            stack.stop_services(timeout=10)
            infra.restart_broker()
            await start_services()

            async def notified(user: str) -> bool:
                r = await http.get(f"{stack.url('notify')}/v1/notifications", headers=auth(user))
                mine = [n for n in r.json()["items"] if n["share_id"] == sid]
                assert len(mine) <= 1, mine
                return len(mine) == 1

            async def recorded(user: str) -> bool:
                r = await http.get(f"{stack.url('learn')}/v1/me/learning", headers=auth(user))
                mine = [s for s in r.json()["items"] if s["share_id"] == sid]
                assert len(mine) <= 1, mine
                return len(mine) == 1

            async def everyone() -> bool:
                results = await asyncio.gather(*(notified(u) for u in RECIPIENTS), *(recorded(u) for u in RECIPIENTS))
                return all(results)

            await eventually(everyone, timeout=60, interval=0.5)
            # Still once each after the consumers have caught up with everything re-sent.
            await asyncio.sleep(1)
            assert await everyone()
            r = await http.get(f"{stack.url('share')}/v1/shares/{sid}", headers=auth("author"))
            assert r.json()["delivered"] == len(RECIPIENTS)
        share_log = stack.log_path("share").read_text()
        assert "new Kafka cluster" in share_log, share_log[-3000:]
    finally:
        stack.stop(timeout=10)
