"""``/readyz``: ready only when started, MongoDB and Kafka answer, and consumers have joined and are not draining."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from learnloop_share.app import SERVICE
from learnloop_share.config import ShareSettings
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


def runtime(*, mongo: bool = True, kafka: bool = True, joined: bool = True, draining: bool = False):
    async def ready() -> bool:
        return kafka

    return SimpleNamespace(
        settings=ShareSettings(auth_secret=SECRET, role=Role.worker),
        mongo=SimpleNamespace(admin=Admin(mongo)),
        publisher=SimpleNamespace(ready=ready),
        worker=SimpleNamespace(ready=joined and not draining),
    )


async def readyz(rt) -> httpx.Response:
    app = create_app(SERVICE, ShareSettings(auth_secret=SECRET, role=Role.worker))
    if rt is not None:
        app.state.runtime = rt
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get("/readyz")


@pytest.mark.parametrize(
    ("rt", "failing"),
    [
        (None, "started"),
        (runtime(mongo=False), "mongo"),
        (runtime(kafka=False), "kafka"),
        (runtime(joined=False), "consumers"),
        (runtime(draining=True), "consumers"),
    ],
)
async def test_not_ready(rt, failing):
    r = await readyz(rt)
    assert r.status_code == 503 and r.json()["checks"][failing] is False


async def test_ready():
    r = await readyz(runtime())
    assert r.status_code == 200 and r.json() == {
        "ready": True,
        "checks": {"started": True, "mongo": True, "kafka": True, "consumers": True},
    }
