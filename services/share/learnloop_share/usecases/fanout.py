"""Fan-out: resolve a share's audience, then publish one delivery per recipient, in batches.

Resumable: recipients come in id order and progress is checkpointed after each batch is acknowledged
by Kafka; after a crash the redelivered ``share.published`` resumes after the last checkpoint.
Delivery event ids are derived from (share, recipient), so a batch re-sent after a crash is
deduplicated by the consumers.

After the broker lost its topics (a new Kafka cluster, see ``learnloop_shared.recovery``) deliveries
produced before may never have been consumed: :meth:`FanOut.redrive` publishes a share's deliveries
again from the first recipient, and the consumers store each one once.

A retracted share is never fanned out (nor re-driven), and a running fan-out stops once its share is
retracted: the ``share.retracted`` event waits behind the running ``share.published`` on the same
partition, so the fan-out itself reads the share again before a batch, at most every
``status_check_s`` seconds. That read also refreshes what deliveries carry (the share's current title,
``requires``, ``due_at`` and ``revision``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from contextlib import aclosing
from datetime import timedelta
from typing import Any

from learnloop_shared.events import utcnow
from learnloop_shared.kafka import progress
from learnloop_shared.kafka.publisher import Publisher

from ..domain.shares import ShareStatus
from ..storage.shares import Shares
from .audience import AudienceResolver, Plan
from .deliveries import DeliveryEncoder

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 4
FINAL = frozenset({ShareStatus.delivered.value, ShareStatus.retracted.value})


class FanOut:
    def __init__(
        self,
        shares: Shares,
        resolver: AudienceResolver,
        publisher: Publisher,
        deliveries_topic: str,
        source: str,
        status_check_s: float = 1.0,
    ) -> None:
        self._shares = shares
        self._resolver = resolver
        self._publisher = publisher
        self._topic = deliveries_topic
        self._source = source
        self._check_s = status_check_s

    async def fan_out(self, share_id: str) -> None:
        doc = await self._shares.get(share_id)
        if doc is None:
            log.warning("share.published for an unknown share", extra={"share_id": share_id})
            return
        if doc["status"] in FINAL:
            return
        started = await self._shares.start_fanout(share_id)
        if started is None:  # delivered or retracted meanwhile
            return
        doc = started
        plan = await self._resolver.plan(share_id, doc["audience"], doc["author_id"])
        sizing: asyncio.Task[None] | None = None
        if not doc.get("fanout", {}).get("resolved"):
            await self._resolver.materialize(plan, doc["audience"])
            # Counting a large audience takes a while: do it alongside the deliveries.
            sizing = asyncio.create_task(self._record_size(share_id, plan))
        last = doc.get("fanout", {}).get("last_recipient")
        delivered = int(doc.get("delivered", 0)) if last else 0
        try:
            delivered, stopped = await self._publish(share_id, doc, plan, last, delivered, checkpoint=True)
        except BaseException:
            if sizing is not None:
                sizing.cancel()
            raise
        if stopped:
            if sizing is not None:
                sizing.cancel()
            await self._shares.stopped(share_id)
            log.info("fan-out stopped: the share was retracted", extra={"share_id": share_id, "delivered": delivered})
            return
        if sizing is not None:
            await sizing
        await self._shares.finish(share_id, delivered)
        log.info("share delivered", extra={"share_id": share_id, "delivered": delivered})

    async def redrive_recent(self, window: timedelta) -> int:
        """Re-drive every fan-out under way or finished within ``window``; returns how many shares."""
        share_ids = await self._shares.fanouts_since(utcnow() - window)
        for share_id in share_ids:
            await self.redrive(share_id)
        return len(share_ids)

    async def redrive(self, share_id: str) -> None:
        """Publish a share's deliveries again from the first recipient (status and counts unchanged for a
        delivered share; an unfinished one continues as a normal fan-out from the start)."""
        await self._shares.restart_fanout(share_id)
        doc = await self._shares.get(share_id)
        if doc is None or doc["status"] == ShareStatus.retracted.value:
            return
        if doc["status"] != ShareStatus.delivered.value:
            await self.fan_out(share_id)
            return
        plan = await self._resolver.plan(share_id, doc["audience"], doc["author_id"])
        sent, _ = await self._publish(share_id, doc, plan, None, 0, checkpoint=False)
        log.info("share deliveries re-sent", extra={"share_id": share_id, "delivered": sent})

    async def retracted(self, share_id: str) -> None:
        """After ``share.retracted``: the fan-out before it on the partition has stopped (or finished); its
        materialized audience is no longer needed (a retracted share is never re-driven)."""
        doc = await self._shares.get(share_id)
        if doc is None or doc["status"] != ShareStatus.retracted.value:
            return
        plan = await self._resolver.plan(share_id, doc["audience"], doc["author_id"])
        if plan.materialized:
            await self._resolver.discard(plan)

    async def _publish(
        self, share_id: str, doc: dict[str, Any], plan: Plan, last: str | None, delivered: int, checkpoint: bool
    ) -> tuple[int, bool]:
        """Publish deliveries to the recipients after ``last``; returns the running count ``delivered`` and
        whether it stopped because the share was retracted."""
        # Several batches in flight: the next batch is read while earlier ones await the broker's
        # acknowledgement; checkpoints still advance strictly in order.
        in_flight: deque[tuple[asyncio.Future[Any], str, int]] = deque()
        next_check, stopped = time.monotonic() + self._check_s, False
        try:
            async with aclosing(self._resolver.recipients(plan, last)) as batches:
                async for recipients in batches:
                    if time.monotonic() >= next_check:
                        current = await self._shares.current(share_id)
                        next_check = time.monotonic() + self._check_s
                        if current is None or current["status"] == ShareStatus.retracted.value:
                            stopped = True
                            break
                        doc = {**doc, **current}
                    delivered = await self._send(share_id, doc, recipients, delivered, in_flight, checkpoint)
            while in_flight:
                await self._checkpoint(share_id, in_flight.popleft(), checkpoint)
        except BaseException:
            for acked, _, _ in in_flight:  # after a failure: don't leave unobserved exceptions behind
                acked.cancel()
            raise
        return delivered, stopped

    async def _send(
        self,
        share_id: str,
        doc: dict[str, Any],
        recipients: list[str],
        delivered: int,
        in_flight: deque[tuple[asyncio.Future[Any], str, int]],
        checkpoint: bool,
    ) -> int:
        """Enqueue one batch; checkpoint the batches the broker acknowledged (in order, at most
        :data:`MAX_IN_FLIGHT` waiting)."""
        encoder = DeliveryEncoder(doc, self._source)
        acked = await self._publisher.enqueue(self._topic, [(r, encoder.encode(r)) for r in recipients])
        delivered += len(recipients)
        in_flight.append((acked, recipients[-1], delivered))
        while in_flight and (len(in_flight) > MAX_IN_FLIGHT or in_flight[0][0].done()):
            await self._checkpoint(share_id, in_flight.popleft(), checkpoint)
        return delivered

    async def _record_size(self, share_id: str, plan: Plan) -> None:
        await self._shares.set_resolved(share_id, await self._resolver.size(plan))

    async def _checkpoint(self, share_id: str, item: tuple[asyncio.Future[Any], str, int], store: bool) -> None:
        acked, last, delivered = item
        await acked
        if store:
            await self._shares.checkpoint(share_id, last, delivered)
        progress.beat()  # a large audience takes long in one event: not a stalled partition
