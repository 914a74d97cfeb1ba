"""Recipient buckets: each recipient once per share, ids that name the batch's first record."""

from __future__ import annotations

from datetime import UTC, datetime

from learnloop_learn.domain.audience import MAX_BUCKET, Bucket, Delivered, buckets_of, leftover

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def d(share: str, user: str, partition: int = 0, offset: int = 0) -> Delivered:
    return Delivered(share, user, AT, partition, offset)


def test_one_bucket_per_share_with_each_recipient_once_in_arrival_order() -> None:
    batch = [d("s1", "b", 1, 10), d("s2", "x", 0, 4), d("s1", "a", 0, 5), d("s1", "b", 1, 11), d("s2", "y", 1, 12)]
    buckets = buckets_of(batch)
    assert buckets == [
        Bucket("s1|o1:10", "s1", AT, ("b", "a")),
        Bucket("s2|o0:4", "s2", AT, ("x", "y")),
    ]


def test_big_batches_are_split_into_buckets_of_at_most_max_bucket() -> None:
    batch = [d("s", f"u{i:05d}", 0, i) for i in range(MAX_BUCKET * 2 + 3)]
    buckets = buckets_of(batch)
    assert [len(b.users) for b in buckets] == [MAX_BUCKET, MAX_BUCKET, 3]
    assert [b.id for b in buckets] == ["s|o0:0", f"s|o0:{MAX_BUCKET}", f"s|o0:{2 * MAX_BUCKET}"]
    assert sum((b.users for b in buckets), ()) == tuple(f"u{i:05d}" for i in range(MAX_BUCKET * 2 + 3))


def test_the_same_batch_consumed_again_gives_the_same_buckets() -> None:
    batch = [d("s", f"u{i}", 2, 100 + i) for i in range(10)]
    assert buckets_of(batch) == buckets_of(list(batch))


def test_leftover_keeps_only_recipients_not_stored_under_an_id_of_its_own() -> None:
    bucket = Bucket("s|o0:0", "s", AT, ("a", "b", "c"))
    assert leftover(bucket, {"a", "c"}) == Bucket("s|ub", "s", AT, ("b",))
    assert leftover(bucket, {"a", "b", "c"}) is None
    assert buckets_of([]) == []
