"""Small helpers for tests: polling instead of sleeping, settings for the local servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Retry ``check`` until it returns a truthy value without raising AssertionError."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            if last:
                raise last
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def local_settings(cls: type[T], infra: Any, **overrides: Any) -> T:
    base: dict[str, Any] = {
        "kafka_bootstrap": infra.bootstrap,
        "mongo_url": infra.mongo_url,
        "auth_secret": "test-secret-that-is-long-enough-for-hs256",
        "kafka_session_timeout_s": 3,
        "kafka_heartbeat_interval_s": 1,
        "kafka_rebalance_timeout_s": 3,
    }
    base.update(overrides)
    return cls(**base)


async def read_all(
    infra: Any, topic: str, expect: int | None = None, timeout_ms: int = 15000, quiet_ms: int = 1500
) -> list[Any]:
    """Read records from the start of ``topic``: ``expect`` of them, or until nothing came for ``quiet_ms``."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=infra.bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + timeout_ms / 1000
    last_new = time.monotonic()
    try:
        while time.monotonic() < deadline:
            if expect is not None and len(records) >= expect:
                break
            if expect is None and records and time.monotonic() - last_new > quiet_ms / 1000:
                break
            batch = await consumer.getmany(timeout_ms=200)
            for msgs in batch.values():
                records.extend(msgs)
                last_new = time.monotonic()
    finally:
        await consumer.stop()
    return records


async def seed_subscribers(mongo_url: str, db: str, topic: str, n: int, width: int) -> list[str]:
    """Write ``n`` users subscribed to ``topic`` into the share service's directory, in bulk (fast setup)."""
    from learnloop_share.domain.directory import UserIn
    from learnloop_share.storage.directory import Directory
    from pymongo import AsyncMongoClient

    ids = [f"{topic}-{i:0{width}d}" for i in range(n)]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        directory = Directory(client[db])
        await directory.ensure_indexes()
        for i in range(0, n, 1000):
            await directory.put_users([(u, UserIn(name="U", topics=[topic])) for u in ids[i : i + 1000]])
    finally:
        await client.close()
    return ids


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of a Prometheus counter's samples that carry ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
