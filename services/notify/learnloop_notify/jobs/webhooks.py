"""Deliver queued webhooks: signed (Standard Webhooks), in order per webhook, retried with exponential
backoff, dead-lettered after the last attempt. A periodic job in every notify worker.

Each webhook's queue is worked by one worker at a time (a lease), one delivery after another, so a
subscriber sees its events in order; different webhooks are delivered concurrently, so a slow or dead
endpoint only ever delays its own queue. Every attempt resolves the host once, checks every address and
connects only to a checked one (:mod:`.webhook_http`).

Every way an attempt can fail — an invalid stored URL, a name that does not resolve, a refused address,
connect and TLS errors, timeouts, an unexpected exception — counts as an attempt: it is backed off, and
after the last one the delivery is ``dead`` and dead-lettered with the reason. No delivery stays
``pending`` because its attempt raised.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import httpx
from learnloop_shared.documents import Doc
from learnloop_shared.events import utcnow
from learnloop_shared.kafka.dead_letters import DeadLetters

from ..config import NotifySettings
from ..domain.webhooks import AddressRefused, InvalidWebhookUrl, backoff_s, sign
from ..storage.webhooks import WebhookStore
from .webhook_http import WebhookHttp

log = logging.getLogger(__name__)
LEASE_S = 30.0


class WebhookDispatcher:
    def __init__(
        self,
        store: WebhookStore,
        settings: NotifySettings,
        dead_letters: DeadLetters,
        http: WebhookHttp | None = None,
    ) -> None:
        self._store = store
        self._s = settings
        self._dlq = dead_letters
        self._http = http or WebhookHttp(settings)
        self._me = f"notify-{uuid.uuid4().hex[:8]}"
        self._busy: set[str] = set()
        self._slots = asyncio.Semaphore(settings.webhook_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        # A lease outlives the longest attempt, so no other worker starts the same delivery meanwhile.
        self._lease_s = max(LEASE_S, 2 * settings.webhook_timeout_s)

    async def close(self) -> None:
        """On shutdown: stop the webhook queues being worked (their leases expire; nothing is lost)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def dispatch_once(self) -> None:
        """One pass (a periodic job): start working every webhook with a due delivery that is not in hand."""
        for webhook_id in await self._store.webhooks_with_due(utcnow()):
            if webhook_id in self._busy:
                continue
            self._busy.add(webhook_id)
            task = asyncio.create_task(self._drain(webhook_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, webhook_id: str) -> None:
        try:
            async with self._slots:
                hook = await self._store.lease(webhook_id, self._me, self._lease_s)
                if hook is None:
                    return  # another worker has it
                try:
                    while True:
                        delivery = await self._store.head(webhook_id)
                        if delivery is None or delivery["next_attempt_at"] > utcnow():
                            return  # empty, or the head waits for its retry: later ones wait too
                        await self._store.lease(webhook_id, self._me, self._lease_s)
                        await self._attempt(hook, delivery)
                finally:
                    await self._store.release(webhook_id, self._me)
        except Exception as exc:
            log.warning("webhook %s: %r", webhook_id, exc)
        finally:
            self._busy.discard(webhook_id)

    async def _attempt(self, hook: Doc, delivery: Doc) -> None:
        attempt = delivery["attempts"] + 1
        status, error = await self._send(hook, delivery)
        if error is not None:
            await self._failed(delivery, attempt, status, error)
            return
        await self._store.mark_delivered(delivery["_id"], attempt, status)

    async def _send(self, hook: Doc, delivery: Doc) -> tuple[int | None, str | None]:
        """One attempt: the status code, and why it failed (None if it succeeded). Never raises, except
        on cancellation: whatever goes wrong is the attempt's failure."""
        try:
            headers = sign(hook["secret"], delivery["notification_id"], utcnow(), delivery["body"])
            status = await self._http.post(hook["url"], delivery["body"], headers)
        except InvalidWebhookUrl as exc:
            return None, f"invalid url: {exc}"
        except AddressRefused as exc:
            return None, f"refused: {exc}"
        except (TimeoutError, httpx.TimeoutException):
            return None, "timeout"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            log.exception("webhook %s: unexpected error in an attempt", hook["_id"])
            return None, f"unexpected error: {type(exc).__name__}: {exc}"
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    async def _failed(self, delivery: Doc, attempt: int, status: int | None, error: str) -> None:
        if attempt >= self._s.webhook_max_attempts:
            body = delivery["body"].encode()
            # Dead-lettered before it is marked dead: a crash in between repeats the dead letter, never loses it.
            await self._dlq.send(
                consumer="webhooks",
                topic=f"webhook:{delivery['webhook_id']}",
                partition=0,
                offset=attempt,
                key=delivery["_id"].encode(),
                value=body,
                headers=[],
                reason=f"webhook delivery failed after {attempt} attempts: {error}",
            )
            await self._store.mark_dead(delivery["_id"], attempt, status, error)
            log.warning("webhook delivery dead-lettered", extra={"delivery": delivery["_id"], "error": error})
            return
        delay = backoff_s(attempt, self._s.webhook_backoff_base_s, self._s.webhook_backoff_max_s)
        await self._store.schedule_retry(delivery["_id"], attempt, status, error, utcnow() + timedelta(seconds=delay))
