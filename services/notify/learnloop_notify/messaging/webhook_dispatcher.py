"""Deliver queued webhooks: signed (Standard Webhooks), in order per webhook, retried with exponential
backoff, dead-lettered after the last attempt. Runs in every notify worker.

Each webhook's queue is worked by one worker at a time (a lease), one delivery after another, so a
subscriber sees its events in order; different webhooks are delivered concurrently, so a slow or dead
endpoint only ever delays its own queue. Addresses are checked after DNS resolution on every attempt.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from learnloop_shared.events import utcnow
from learnloop_shared.kafka.dead_letters import DeadLetters
from learnloop_shared.mongo import Doc

from ..config import NotifySettings
from ..domain.webhooks import AddressRefused, backoff_s, check_addresses, check_scheme, sign
from ..storage.webhooks import WebhookStore

log = logging.getLogger(__name__)
LEASE_S = 30.0


class WebhookDispatcher:
    def __init__(self, store: WebhookStore, settings: NotifySettings, dead_letters: DeadLetters) -> None:
        self._store = store
        self._s = settings
        self._dlq = dead_letters
        self._me = f"notify-{uuid.uuid4().hex[:8]}"
        self._busy: set[str] = set()
        self._slots = asyncio.Semaphore(settings.webhook_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def run(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._s.webhook_timeout_s), follow_redirects=False, trust_env=False
        )
        try:
            while True:
                try:
                    await self.dispatch_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("webhook dispatch pass failed: %r", exc)
                await asyncio.sleep(0.2)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._client.aclose()
            self._client = None

    async def dispatch_once(self) -> None:
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
                hook = await self._store.lease(webhook_id, self._me, LEASE_S)
                if hook is None:
                    return  # another worker has it
                try:
                    while True:
                        delivery = await self._store.head(webhook_id)
                        if delivery is None or delivery["next_attempt_at"] > utcnow():
                            return  # empty, or the head waits for its retry: later ones wait too
                        await self._store.lease(webhook_id, self._me, LEASE_S)
                        await self._attempt(hook, delivery)
                finally:
                    await self._store.release(webhook_id, self._me)
        except Exception as exc:
            log.warning("webhook %s: %r", webhook_id, exc)
        finally:
            self._busy.discard(webhook_id)

    async def _attempt(self, hook: Doc, delivery: Doc) -> None:
        attempt = delivery["attempts"] + 1
        status: int | None = None
        try:
            await self._check_target(hook["url"])
            now = utcnow()
            headers = sign(hook["secret"], delivery["notification_id"], now, delivery["body"])
            assert self._client is not None
            async with self._client.stream("POST", hook["url"], content=delivery["body"], headers=headers) as r:
                status = r.status_code
                await self._read_limited(r)
            if 200 <= status < 300:
                await self._store.record(
                    delivery["_id"],
                    {
                        "$set": {
                            "status": "delivered",
                            "attempts": attempt,
                            "last_status_code": status,
                            "last_error": None,
                            "delivered_at": utcnow(),
                        }
                    },
                )
                return
            error = f"HTTP {status}"
        except AddressRefused as exc:
            error = f"refused: {exc}"
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        await self._failed(delivery, attempt, status, error)

    async def _failed(self, delivery: Doc, attempt: int, status: int | None, error: str) -> None:
        if attempt >= self._s.webhook_max_attempts:
            await self._store.record(
                delivery["_id"],
                {"$set": {"status": "dead", "attempts": attempt, "last_status_code": status, "last_error": error}},
            )
            body = delivery["body"].encode()
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
            log.warning("webhook delivery dead-lettered", extra={"delivery": delivery["_id"], "error": error})
            return
        delay = backoff_s(attempt, self._s.webhook_backoff_base_s, self._s.webhook_backoff_max_s)
        await self._store.record(
            delivery["_id"],
            {
                "$set": {
                    "attempts": attempt,
                    "last_status_code": status,
                    "last_error": error,
                    "next_attempt_at": utcnow() + timedelta(seconds=delay),
                }
            },
        )

    async def _check_target(self, url: str) -> None:
        check_scheme(url, self._s.webhook_require_https)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
        check_addresses([str(info[4][0]) for info in infos], self._s.webhook_allowed_networks)

    async def _read_limited(self, response: httpx.Response) -> bytes:
        limit, got = self._s.webhook_max_response_bytes, b""
        async for chunk in response.aiter_bytes():
            got += chunk[: max(0, limit - len(got))]
            if len(got) >= limit:
                break
        return got
