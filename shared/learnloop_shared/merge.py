"""Merge join of key-sorted streams: walk one stream and find each item's partners in others. No I/O.

Every stream must come in ascending key order with each key at most once (a repeated or decreasing key
raises :class:`ValueError`). Keys are strings compared the Python way, by code point; that is also how
MongoDB orders strings (by their UTF-8 bytes), so streams sorted by the database can be merged here.

Each side is opened lazily with the primary stream's first key (so it can start its read there) and
read only as far as the primary stream goes; every stream is closed when the join ends, also early.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
S = TypeVar("S")


@dataclass(frozen=True)
class Side(Generic[S]):
    """A secondary stream: ``open(first_key)`` gives its items with key ≥ ``first_key`` in key order."""

    open: Callable[[str], AsyncIterator[S]]
    key: Callable[[S], str]


class _Cursor(Generic[S]):
    """A sorted stream with one item of look-ahead, advanced to ever larger keys."""

    def __init__(self, items: AsyncIterator[S], key: Callable[[S], str]) -> None:
        self._items = items
        self._key = key
        self._head: tuple[str, S] | None = None
        self._last: str | None = None
        self._done = False

    async def match(self, wanted: str) -> S | None:
        """The item whose key is ``wanted`` (None if there is none), skipping every item before it."""
        while not self._done:
            if self._head is None:
                try:
                    item = await anext(self._items)
                except StopAsyncIteration:
                    self._done = True
                    return None
                k = self._key(item)
                if self._last is not None and k <= self._last:
                    raise ValueError(f"stream not in ascending key order: {k!r} after {self._last!r}")
                self._last = k
                self._head = (k, item)
            k, item = self._head
            if k < wanted:
                self._head = None
                continue
            if k == wanted:
                self._head = None
                return item
            return None
        return None

    async def close(self) -> None:
        await _close(self._items)


async def merge_join(
    primary: AsyncIterator[T], key: Callable[[T], str], sides: Sequence[Side[S]]
) -> AsyncGenerator[tuple[T, list[S | None]]]:
    """Each item of ``primary`` with, per side, the item of the same key (None where a side has none)."""
    cursors: list[_Cursor[S]] = []
    last: str | None = None
    try:
        async for item in primary:
            k = key(item)
            if last is not None and k <= last:
                raise ValueError(f"stream not in ascending key order: {k!r} after {last!r}")
            if last is None:
                cursors = [_Cursor(side.open(k), side.key) for side in sides]
            last = k
            yield item, [await c.match(k) for c in cursors]
    finally:
        for c in cursors:
            await c.close()
        await _close(primary)


async def _close(items: AsyncIterator[Any]) -> None:
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        # Closing runs in ``finally``: a failure to close must not hide the error that ended the join.
        with suppress(Exception):
            await aclose()
