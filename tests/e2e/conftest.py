from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from learnloop_shared.auth import ensure_local_secret, issue_token
from learnloop_shared.local.servers import LocalInfra, free_port
from learnloop_shared.local.stack import SERVICES, LocalStack

pytestmark = pytest.mark.e2e

# Seconds instead of minutes, so tests can watch digests and retries happen.
TEST_ENV = {
    "LEARNLOOP_DIGEST_WINDOW_S": "2",
    "LEARNLOOP_DIGEST_POLL_S": "0.2",
    "LEARNLOOP_WEBHOOK_BACKOFF_BASE_S": "0.2",
    "LEARNLOOP_WEBHOOK_MAX_ATTEMPTS": "4",
    "LEARNLOOP_WEBHOOK_TIMEOUT_S": "1",
    "LEARNLOOP_FANOUT_BATCH_SIZE": "50",
    "LEARNLOOP_FANOUT_STATUS_CHECK_S": "0.1",
    # Reminder rounds: looked for often, 50 recipients per checkpoint, and a runner that died is
    # replaced after 3 s (tests kill one mid-round).
    "LEARNLOOP_ROUNDS_POLL_S": "0.2",
    "LEARNLOOP_ROUNDS_BATCH_SIZE": "50",
    "LEARNLOOP_ROUNDS_LEASE_S": "3",
}


def running_stack(infra: LocalInfra, var: Path, db_prefix: str, env: dict[str, str]) -> Iterator[LocalStack]:
    """The three services as processes against ``infra``, stopped when the generator is closed (their logs
    are printed if they do not start)."""
    ensure_local_secret(var / "auth-secret")
    s = LocalStack(
        infra=infra,
        ports={n: free_port() for n in SERVICES},
        var_dir=var,
        secret_file=var / "auth-secret",
        db_prefix=db_prefix,
        extra_env=env,
    )
    s.create_topics()
    try:
        s.start_services()
    except BaseException:
        for name in SERVICES:
            log = var / "log" / f"{name}.log"
            if log.exists():
                print(f"--- {name} log ---\n{log.read_text()[-4000:]}")
        s.stop_services()
        raise
    try:
        yield s
    finally:
        s.stop_services()


@pytest.fixture(scope="session")
def stack(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """All three services as separate processes (role ``all``) against the session's broker and database."""
    yield from running_stack(infra, tmp_path_factory.mktemp("var"), "e2e", TEST_ENV)


class Api:
    """HTTP clients for the three services, signing tokens for any user."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.secret = stack.secret_file.read_text().strip()
        self.clients = {n: httpx.AsyncClient(base_url=stack.url(n), timeout=15) for n in SERVICES}

    def auth(self, user: str, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.secret, user, scopes)}"}

    def __getattr__(self, name: str) -> httpx.AsyncClient:
        if name in self.clients:
            return self.clients[name]
        raise AttributeError(name)

    async def close(self) -> None:
        for c in self.clients.values():
            await c.aclose()


@pytest.fixture
async def api(stack: LocalStack) -> AsyncIterator[Api]:
    a = Api(stack)
    yield a
    await a.close()
