"""Our key partitioning must put every key where Kafka's default partitioner (aiokafka's) puts it."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference
from learnloop_shared.kafka.partitioning import murmur2, partition_for


def test_murmur2_matches_aiokafka_for_every_length_and_byte() -> None:
    rng = random.Random(7)
    samples = [bytes(rng.randrange(256) for _ in range(n)) for n in range(0, 300) for _ in range(20)]
    samples += [b"", b"\x00", b"\xff" * 7, b"bench-user-000001", "ünïcødé-user".encode()]
    for data in samples:
        assert murmur2(data) == reference(data), data


def test_partition_for_matches_the_default_partitioner() -> None:
    default = DefaultPartitioner()
    for n in (1, 3, 12):
        partitions = list(range(n))
        for i in range(2000):
            key = f"user-{i}".encode()
            assert partition_for(key, partitions) == default(key, partitions, partitions)
    assert partition_for(None, [0, 1, 2]) in (0, 1, 2)
