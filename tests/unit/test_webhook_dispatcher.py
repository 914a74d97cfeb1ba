"""The dispatcher's attempt logic with an in-memory store: every failure counts, and ends dead-lettered."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from learnloop_notify.config import NotifySettings
from learnloop_notify.jobs.webhook_http import WebhookHttp
from learnloop_notify.jobs.webhooks import WebhookDispatcher
from learnloop_shared.events import utcnow

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Store:
    """The parts of WebhookStore the dispatcher uses, over one webhook and one delivery."""

    def __init__(self, url: str) -> None:
        self.hook = {"_id": "bob/ci", "url": url, "secret": SECRET}
        self.delivery = {
            "_id": "bob/ci|n1",
            "webhook_id": "bob/ci",
            "notification_id": "n1",
            "body": '{"specversion":"1.0"}',
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": utcnow(),
        }

    async def webhooks_with_due(self, now: datetime) -> list[str]:
        d = self.delivery
        return [d["webhook_id"]] if d["status"] == "pending" and d["next_attempt_at"] <= now else []

    async def lease(self, webhook_id: str, owner: str, for_s: float) -> dict | None:
        return self.hook

    async def release(self, webhook_id: str, owner: str) -> None:
        pass

    async def head(self, webhook_id: str) -> dict | None:
        return dict(self.delivery) if self.delivery["status"] == "pending" else None

    async def mark_delivered(self, delivery_id: str, attempts: int, status_code: int | None) -> None:
        self.delivery.update(status="delivered", attempts=attempts, last_status_code=status_code, last_error=None)

    async def schedule_retry(self, delivery_id: str, attempts: int, status_code, error: str, at: datetime) -> None:
        self.delivery.update(attempts=attempts, last_status_code=status_code, last_error=error, next_attempt_at=at)

    async def mark_dead(self, delivery_id: str, attempts: int, status_code, error: str) -> None:
        self.delivery.update(status="dead", attempts=attempts, last_status_code=status_code, last_error=error)


class DeadLetters:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, **kw) -> None:
        self.sent.append(kw)


class Exploding(WebhookHttp):
    async def post(self, url, body, headers):
        raise RuntimeError("a bug")


def settings() -> NotifySettings:
    return NotifySettings(
        auth_secret="x" * 32,
        webhook_require_https=False,
        webhook_max_attempts=3,
        webhook_backoff_base_s=0.01,
        webhook_backoff_max_s=0.01,
    )


async def run_until_dead(store: Store, dispatcher: WebhookDispatcher) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while store.delivery["status"] == "pending":
        assert asyncio.get_running_loop().time() < deadline, f"still pending: {store.delivery}"
        await dispatcher.dispatch_once()
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("url", "http", "error"),
    [
        ("http://127.0.0.1:99999/", None, "invalid url: url port"),  # stored before registration refused it
        ("http://[64:ff9b::a9fe:a9fe]/", None, "refused: address"),
        ("http://hooks.example.com/", "explodes", "unexpected error: RuntimeError: a bug"),
    ],
)
async def test_every_failure_is_an_attempt_and_the_last_one_is_dead_lettered(url, http, error):
    s, store, dlq = settings(), Store(url), DeadLetters()
    dispatcher = WebhookDispatcher(store, s, dlq, http=Exploding(s) if http else None)  # type: ignore[arg-type]
    before = utcnow()
    await run_until_dead(store, dispatcher)
    d = store.delivery
    assert d["status"] == "dead" and d["attempts"] == 3 and d["last_error"].startswith(error)
    assert d["next_attempt_at"] > before  # it was backed off in between
    [letter] = dlq.sent
    assert letter["topic"] == "webhook:bob/ci" and f"failed after 3 attempts: {error}" in letter["reason"]


async def test_a_failure_is_backed_off():
    s = settings().model_copy(update={"webhook_backoff_base_s": 60.0, "webhook_backoff_max_s": 60.0})
    store = Store("http://127.0.0.1:99999/")
    dispatcher = WebhookDispatcher(store, s, DeadLetters())  # type: ignore[arg-type]
    await dispatcher.dispatch_once()
    deadline = asyncio.get_running_loop().time() + 5
    while store.delivery["attempts"] == 0:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    assert store.delivery["status"] == "pending"
    assert store.delivery["next_attempt_at"] > utcnow() + timedelta(seconds=50)
