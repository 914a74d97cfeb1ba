"""Forwarding statements to the organisation's LRS (``LEARNLOOP_XAPI_FORWARD_URL``).

One pass (:meth:`Forwarding.run_once`, run by the job in every worker replica):

1. take the lease on the forwarding state (one runner at a time across replicas; a runner that died
   leaves it to expire after ``lease_s``), and do nothing before ``next_attempt_at``;
2. read the oldest pending batch in (stored, _id) order and POST it as one array;
3. accepted: unmark and count; refused for its content (400/409/413 for several statements): send the
   halves, first then second, down to single statements - a single one refused is parked (``rejected``
   with the reason), so one bad statement does not hold up the rest; anything else: record the error and
   wait (exponential backoff, capped, at least the remote's Retry-After) with the batch still pending;
4. go on with the next batch while there is one (at most :data:`MAX_BATCHES_PER_PASS` per pass).

Marker semantics and what counts as delivered: ``domain/xapi/forwarding.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from learnloop_shared.events import utcnow
from learnloop_shared.mongo import Doc

from ...domain.xapi.forwarding import Outcome, backoff_s, forwarded_statement, outcome, reason
from ...storage.xapi.forwarding import ForwardingStore

log = logging.getLogger(__name__)
MAX_BATCHES_PER_PASS = 100


@dataclass(frozen=True)
class Response:
    """What came back for one POST: ``status`` None when no response arrived (network error, timeout)."""

    status: int | None
    body: str = ""
    retry_after_s: float | None = None


class Remote(Protocol):
    async def post_statements(self, statements: Sequence[Any]) -> Response: ...


@dataclass(frozen=True)
class ForwardSettings:
    batch_size: int
    base_backoff_s: float
    max_backoff_s: float
    lease_s: float


class _Retry(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(reason(response.status, response.body))
        self.response = response


class _LeaseLost(Exception):
    pass


class Forwarding:
    def __init__(self, store: ForwardingStore, remote: Remote, settings: ForwardSettings, owner: str) -> None:
        self._store = store
        self._remote = remote
        self._settings = settings
        self.owner = owner

    async def run_once(self) -> int:
        """One pass; returns how many statements the remote took in it."""
        now = utcnow()
        state = await self._store.claim(self.owner, self._settings.lease_s, now)
        if state is None:
            return 0
        next_at = state.get("next_attempt_at")
        if next_at is not None and now < next_at:
            return 0
        failures = int(state.get("consecutive_failures", 0))
        sent = 0
        for _ in range(MAX_BATCHES_PER_PASS):
            batch = await self._store.pending(self._settings.batch_size)
            if not batch:
                break
            try:
                sent += await self._deliver(batch)
            except _Retry as exc:
                await self._failed(failures + 1, exc.response)  # after any batches delivered in this pass: 1
                break
            except _LeaseLost:
                log.info("xAPI forwarding: lease taken over by another runner; stopped")
                break
            failures = 0
        return sent

    async def close(self) -> None:
        """Let another replica take over at once (on shutdown)."""
        await self._store.release(self.owner)

    async def _deliver(self, docs: Sequence[Doc]) -> int:
        """Send ``docs`` (in order); returns how many the remote took. Raises :class:`_Retry` to back off.

        The lease is renewed before each request: a batch split down to single statements may take many."""
        if await self._store.claim(self.owner, self._settings.lease_s, utcnow()) is None:
            raise _LeaseLost()
        response = await self._remote.post_statements([forwarded_statement(d) for d in docs])
        status = response.status
        result = outcome(status, len(docs)) if status is not None else Outcome.RETRY
        if result is Outcome.DELIVERED:
            return await self._store.delivered([d["_id"] for d in docs], utcnow())
        if result is Outcome.REJECTED:
            why = reason(status, response.body)
            if await self._store.reject(docs[0]["_id"], why, utcnow()):
                log.warning("xAPI forwarding: statement %s rejected by the remote LRS, parked: %s", docs[0]["_id"], why)
            return 0
        if result is Outcome.SPLIT:
            half = len(docs) // 2
            return await self._deliver(docs[:half]) + await self._deliver(docs[half:])
        raise _Retry(response)

    async def _failed(self, failures: int, response: Response) -> None:
        s = self._settings
        delay = backoff_s(failures, s.base_backoff_s, s.max_backoff_s, response.retry_after_s)
        now = utcnow()
        why = reason(response.status, response.body)
        await self._store.failed(failures, why, now, now + timedelta(seconds=delay))
        log.warning("xAPI forwarding failed (%d in a row), next attempt in %.1f s: %s", failures, delay, why)
