"""Stalled partitions: work in hand on a (topic, partition) that has made no progress for too long.

A partition is *busy* from the moment a batch of its records starts being handled until a batch of
it has been handled (its effects stored): that is progress, and the clock restarts. A batch that
failed and will be redelivered leaves the partition busy, with the clock still running, so a batch
that fails over and over, or is retried without end, shows up as stalled. A partition with nothing to
do (no records) is never busy, hence never stalled.

A handler whose one batch legitimately takes long (a large fan-out) calls :func:`beat` as it goes.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class Stall:
    topic: str
    partition: int
    seconds: float


@dataclass
class _Busy:
    since: float  # last progress (or start of work) on this partition
    batches: int  # batches of it in hand


class Progress:
    """Tracks busy partitions of one worker; ``clock`` is injectable for tests."""

    def __init__(self, stall_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_after_s = stall_after_s
        self._clock = clock
        self._busy: dict[TopicPartition, _Busy] = {}
        self._reported: set[TopicPartition] = set()

    def begin(self, partitions: Iterable[TopicPartition]) -> None:
        now = self._clock()
        for tp in set(partitions):
            busy = self._busy.get(tp)
            if busy is None:
                self._busy[tp] = _Busy(now, 1)
            else:  # a batch after one that failed keeps the failed one's clock
                busy.batches += 1

    def end(self, partitions: Iterable[TopicPartition], *, progressed: bool) -> None:
        now = self._clock()
        for tp in set(partitions):
            busy = self._busy.get(tp)
            if busy is None:
                continue
            busy.batches = max(0, busy.batches - 1)
            if progressed:
                if busy.batches == 0:
                    del self._busy[tp]
                else:
                    busy.since = now

    def touch(self, partitions: Iterable[TopicPartition]) -> None:
        """Progress inside a batch (see :func:`beat`)."""
        now = self._clock()
        for tp in partitions:
            if tp in self._busy:
                self._busy[tp].since = now

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions no longer ours (revoked): their work is the next owner's."""
        for tp in partitions:
            self._busy.pop(tp, None)

    def stalled(self) -> list[Stall]:
        now = self._clock()
        return sorted(
            (Stall(tp[0], tp[1], now - b.since) for tp, b in self._busy.items() if now - b.since > self.stall_after_s),
            key=lambda s: (s.topic, s.partition),
        )

    def busy(self) -> list[TopicPartition]:
        return sorted(self._busy)

    def check(self, group: str) -> list[Stall]:
        """The stalled partitions; logs a partition once when it stalls and once when it moves again."""
        stalls = self.stalled()
        now = {(s.topic, s.partition) for s in stalls}
        for s in stalls:
            if (s.topic, s.partition) not in self._reported:
                log.warning(
                    "consumer stalled: %s partition %d has had work in hand without progress for %.0fs",
                    s.topic,
                    s.partition,
                    s.seconds,
                    extra={"topic": s.topic, "partition": s.partition, "group": group, "stalled_s": round(s.seconds)},
                )
        for topic, partition in self._reported - now:
            log.info(
                "consumer progressing again: %s partition %d",
                topic,
                partition,
                extra={"topic": topic, "partition": partition, "group": group},
            )
        self._reported = now
        return stalls


_current: contextvars.ContextVar[tuple[Progress, tuple[TopicPartition, ...]] | None] = contextvars.ContextVar(
    "learnloop_progress", default=None
)


@contextlib.contextmanager
def handling(progress: Progress | None, partitions: Iterable[TopicPartition]) -> Iterator[None]:
    """Marks a batch of ``partitions`` in hand; progress when the block exits without raising."""
    if progress is None:
        yield
        return
    tps = tuple(set(partitions))
    progress.begin(tps)
    token = _current.set((progress, tps))
    ok = False
    try:
        yield
        ok = True
    finally:
        _current.reset(token)
        progress.end(tps, progressed=ok)


def beat() -> None:
    """Called by a handler in the middle of a long batch: it is making progress."""
    current = _current.get()
    if current is not None:
        current[0].touch(current[1])


class Membership:
    """Since when one consumer has been out of its group (not yet joined, or partitions revoked and not
    assigned again). Joined means: the group gave it an assignment (possibly empty) and it heartbeats."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._out_since: float | None = clock()  # out until the first assignment
        self.rejoin_requested = False

    def joined(self) -> None:
        self._out_since = None
        self.rejoin_requested = False

    def left(self) -> None:
        if self._out_since is None:
            self._out_since = self._clock()

    def out_for(self) -> float:
        return 0.0 if self._out_since is None else self._clock() - self._out_since
