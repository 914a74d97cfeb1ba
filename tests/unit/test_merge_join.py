"""The merge join of key-sorted streams (``learnloop_shared.merge``): partners found, gaps, order checks,
lazy opening from the first key, early close."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable

import pytest
from learnloop_shared.merge import Side, merge_join


class Stream:
    """A sorted list served as an async stream, recording what was opened, read and closed."""

    def __init__(self, items: Iterable[str]) -> None:
        self.items = list(items)
        self.opened_at: str | None = None
        self.read = 0
        self.closed = False

    def open(self, first: str = "") -> AsyncIterator[str]:
        self.opened_at = first
        return self._gen(first)

    async def _gen(self, first: str) -> AsyncIterator[str]:
        try:
            for item in self.items:
                if item >= first:
                    self.read += 1
                    yield item
        finally:
            self.closed = True


def same(x: str) -> str:
    return x


def side(stream: Stream) -> Side[str]:
    return Side(stream.open, same)


async def joined(primary: Stream, *sides: Stream) -> list[tuple[str, list[str | None]]]:
    return [pair async for pair in merge_join(primary.open(), same, [side(s) for s in sides])]


async def test_each_item_gets_its_partners_or_none():
    primary = Stream(["b", "d", "e", "g"])
    left = Stream(["a", "b", "c", "e", "f", "g", "h"])
    right = Stream(["d", "e"])
    assert await joined(primary, left, right) == [
        ("b", ["b", None]),
        ("d", [None, "d"]),
        ("e", ["e", "e"]),
        ("g", ["g", None]),
    ]
    # Sides start at the first key and stop once the primary stream ends ("h" is never read).
    assert (left.opened_at, right.opened_at) == ("b", "b")
    assert left.read == 5 and left.closed and right.closed and primary.closed


async def test_empty_streams():
    never = Stream(["a"])
    assert await joined(Stream([]), never) == []
    assert never.opened_at is None  # nothing to join: the side is never opened
    assert await joined(Stream(["a", "b"]), Stream([])) == [("a", [None]), ("b", [None])]
    assert await joined(Stream(["a"])) == [("a", [])]


async def test_string_order_is_by_code_point_like_utf8_bytes():
    # MongoDB orders strings by UTF-8 bytes; Python by code point: the same order, checked here.
    keys = ["A", "Z", "_", "a", "z", "é", "ü", "ž", "中", "😀", "user-1", "user-10", "user-2"]
    assert sorted(keys) == sorted(keys, key=lambda k: k.encode())
    ordered = sorted(keys)
    assert await joined(Stream(ordered), Stream(ordered[::2])) == [
        (k, [k if i % 2 == 0 else None]) for i, k in enumerate(ordered)
    ]


async def test_matches_a_dictionary_join_on_random_streams():
    rng = random.Random(13)
    universe = [f"u{rng.getrandbits(32):08x}" for _ in range(3000)]
    primary = sorted(set(rng.sample(universe, 1000)))
    a = sorted(set(rng.sample(universe, 1500)))
    b = sorted(set(rng.sample(universe, 200)))
    got = await joined(Stream(primary), Stream(a), Stream(b))
    sa, sb = set(a), set(b)
    assert got == [(k, [k if k in sa else None, k if k in sb else None]) for k in primary]


@pytest.mark.parametrize(
    ("primary", "other"),
    [(["a", "c", "b"], ["a", "b", "c"]), (["a", "a"], ["a"]), (["a", "b", "c"], ["b", "a", "c"])],
)
async def test_unsorted_or_repeated_keys_are_refused(primary, other):
    with pytest.raises(ValueError, match="ascending key order"):
        await joined(Stream(primary), Stream(other))


async def test_a_reader_stopping_early_closes_every_stream():
    primary, other = Stream(["a", "b", "c"]), Stream(["a", "b", "c"])
    gen = merge_join(primary.open(), same, [side(other)])
    assert await anext(gen) == ("a", ["a"])
    await gen.aclose()
    assert primary.closed and other.closed
