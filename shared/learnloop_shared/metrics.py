"""Learnloop's metric instruments, on OpenTelemetry's global meter provider.

Until :func:`learnloop_shared.telemetry.setup_telemetry` installs a provider (``OTEL_METRICS_EXPORTER``),
the instruments are the API's no-op proxies; code that would do extra work only to feed a metric checks
:func:`enabled` first. Names follow the OpenTelemetry semantic conventions where one exists
(``messaging.*``); Prometheus shows dots as underscores, adds ``_total`` to counters and ``_seconds`` to
durations (see the README's platform section for the exported names).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

log = logging.getLogger(__name__)
SYSTEM = "kafka"
# Seconds, from 1 ms to 1 min (the SDK's default buckets suit milliseconds).
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_meter = metrics.get_meter("learnloop")
_enabled = False

MESSAGES_SENT = _meter.create_counter(
    "messaging.client.sent.messages", unit="{message}", description="Events produced, acknowledged by Kafka"
)
MESSAGES_CONSUMED = _meter.create_counter(
    "messaging.client.consumed.messages", unit="{message}", description="Events consumed (handled or dead-lettered)"
)
PROCESS_DURATION = _meter.create_histogram(
    "messaging.process.duration",
    unit="s",
    description="Time to handle one consumer batch (store its effects, dead-letter what failed)",
    explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
)
EVENT_LATENCY = _meter.create_histogram(
    "learnloop.event.latency",
    unit="s",
    description="Per consumer batch: from the CloudEvents time of its oldest event to the end of its processing",
    explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
)
DEAD_LETTERS = _meter.create_counter(
    "learnloop.dead_letters", unit="{message}", description="Events sent to the dead-letter topic"
)
DEAD_LETTER_FAILURES = _meter.create_counter(
    "learnloop.dead_letters.failed",
    unit="{message}",
    description="Events that could not even be dead-lettered (refused by the broker): skipped, see the logs",
)
JOB_FAILURES = _meter.create_counter(
    "learnloop.jobs.failed", unit="{pass}", description="Passes of a periodic job that failed (retried with backoff)"
)
NOTIFICATIONS_CREATED = _meter.create_counter(
    "learnloop.notifications.created", unit="{notification}", description="Notifications stored (new ones only)"
)
ACKNOWLEDGEMENTS = _meter.create_counter(
    "learnloop.acknowledgements", unit="{acknowledgement}", description="Acknowledgements recorded, by kind"
)

# Consumer lag: observed on collection from every running worker.
LagSource = Callable[[], Iterable[tuple[str, int, str, int]]]  # (topic, partition, group, lag)
_lag_sources: list[LagSource] = []
_lag_lock = threading.Lock()


def _observe_lag(_options: CallbackOptions) -> Iterator[Observation]:
    with _lag_lock:
        sources = list(_lag_sources)
    for source in sources:
        try:
            rows = list(source())
        except Exception as exc:  # telemetry never breaks the service
            log.debug("consumer lag not available: %r", exc)
            continue
        for topic, partition, group, lag in rows:
            yield Observation(
                lag,
                {
                    "messaging.destination.name": topic,
                    "messaging.destination.partition.id": str(partition),
                    "messaging.consumer.group.name": group,
                },
            )


CONSUMER_LAG = _meter.create_observable_gauge(
    "learnloop.consumer.lag",
    callbacks=[_observe_lag],
    unit="{message}",
    description="High watermark (from the latest fetch) minus committed offset, per assigned partition",
)


# Stalled partitions (see ``kafka.progress``): 1 while a partition has had work in hand without progress
# for longer than LEARNLOOP_CONSUMER_STALL_S, else 0 (only partitions with work in hand are reported).
StallSource = Callable[[], Iterable[tuple[str, int, str, int]]]  # (topic, partition, group, 0 or 1)
_stall_sources: list[StallSource] = []


def _observe_stalls(_options: CallbackOptions) -> Iterator[Observation]:
    with _lag_lock:
        sources = list(_stall_sources)
    for source in sources:
        try:
            rows = list(source())
        except Exception as exc:  # telemetry never breaks the service
            log.debug("consumer progress not available: %r", exc)
            continue
        for topic, partition, group, stalled in rows:
            yield Observation(
                stalled,
                {
                    "messaging.destination.name": topic,
                    "messaging.destination.partition.id": str(partition),
                    "messaging.consumer.group.name": group,
                },
            )


CONSUMER_STALLED = _meter.create_observable_gauge(
    "learnloop.consumer.stalled",
    callbacks=[_observe_stalls],
    unit="1",
    description="1 while a partition has had work in hand without progress for longer than the stall limit",
)


def add_stall_source(source: StallSource) -> None:
    with _lag_lock:
        _stall_sources.append(source)


def remove_stall_source(source: StallSource) -> None:
    with _lag_lock:
        if source in _stall_sources:
            _stall_sources.remove(source)


def add_lag_source(source: LagSource) -> None:
    with _lag_lock:
        _lag_sources.append(source)


def remove_lag_source(source: LagSource) -> None:
    with _lag_lock:
        if source in _lag_sources:
            _lag_sources.remove(source)


def enable() -> None:
    """Called once a real meter provider is installed."""
    global _enabled
    _enabled = True


def enabled() -> bool:
    return _enabled


def topic_attributes(topic: str, **extra: Any) -> dict[str, Any]:
    return {"messaging.system": SYSTEM, "messaging.destination.name": topic, **extra}
