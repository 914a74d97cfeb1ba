"""``/readyz``: ready only when started, MongoDB and Kafka answer, and consumers have joined and are not draining."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from learnloop_share.app import SERVICE
from learnloop_share.config import ShareSettings
from learnloop_shared.kafka.progress import Stall
from learnloop_shared.runtime import create_app
from learnloop_shared.settings import Role

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


class Admin:
    def __init__(self, up: bool) -> None:
        self.up = up

    async def command(self, name: str) -> dict[str, int]:
        if not self.up:
            raise ConnectionError("down")
        return {"ok": 1}


def runtime(
    *,
    mongo: bool = True,
    kafka: bool = True,
    joined: bool = True,
    draining: bool = False,
    stalled: tuple[Stall, ...] = (),
    alive: bool = True,
):
    async def ready() -> bool:
        return kafka

    return SimpleNamespace(
        settings=ShareSettings(auth_secret=SECRET, role=Role.worker),
        mongo=SimpleNamespace(admin=Admin(mongo)),
        publisher=SimpleNamespace(ready=ready),
        consumers=SimpleNamespace(ready=joined and not draining, stalled=lambda: list(stalled), alive=alive),
    )


async def readyz(rt, path: str = "/readyz") -> httpx.Response:
    app = create_app(SERVICE, ShareSettings(auth_secret=SECRET, role=Role.worker))
    if rt is not None:
        app.state.runtime = rt
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get(path)


@pytest.mark.parametrize(
    ("rt", "failing"),
    [
        (None, "started"),
        (runtime(mongo=False), "mongo"),
        (runtime(kafka=False), "kafka"),
        (runtime(joined=False), "consumers"),
        (runtime(draining=True), "consumers"),
        (runtime(stalled=(Stall("learnloop.share-requests", 2, 75.0),)), "progress"),
    ],
)
async def test_not_ready(rt, failing):
    r = await readyz(rt)
    assert r.status_code == 503 and r.json()["checks"][failing] is False


async def test_ready():
    r = await readyz(runtime())
    assert r.status_code == 200 and r.json() == {
        "ready": True,
        "checks": {"started": True, "mongo": True, "kafka": True, "consumers": True, "progress": True},
    }


async def test_a_stalled_partition_is_named():
    r = await readyz(runtime(stalled=(Stall("learnloop.share-requests", 2, 75.4),)))
    assert r.status_code == 503
    assert r.json()["stalled"] == [{"topic": "learnloop.share-requests", "partition": 2, "seconds": 75}]


async def test_liveness_fails_only_when_consumers_stay_out_of_their_group():
    assert (await readyz(runtime(), "/healthz")).status_code == 200
    assert (await readyz(None, "/healthz")).status_code == 200  # starting
    assert (await readyz(runtime(joined=False), "/healthz")).status_code == 200  # not ready is not dead
    assert (await readyz(runtime(alive=False), "/healthz")).status_code == 503
