"""Stalled partitions and group membership, on a fake clock."""

from __future__ import annotations

import logging

import pytest
from learnloop_shared.kafka.progress import Membership, Progress, Stall, beat, handling


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


TP = ("learnloop.share-requests", 2)


def test_no_work_is_never_stalled():
    clock = Clock()
    progress = Progress(60, clock)
    clock.now += 3600
    assert progress.stalled() == []


def test_work_without_progress_past_the_limit_is_stalled_and_progress_clears_it():
    clock = Clock()
    progress = Progress(60, clock)
    progress.begin([TP])
    clock.now += 60
    assert progress.stalled() == []  # at the limit, not past it
    clock.now += 1
    assert progress.stalled() == [Stall(*TP, 61.0)]
    progress.end([TP], progressed=True)
    assert progress.stalled() == [] and progress.busy() == []


def test_a_batch_that_keeps_failing_keeps_its_clock_across_redeliveries():
    clock = Clock()
    progress = Progress(60, clock)
    for _ in range(7):  # fails every 10 s and is redelivered
        progress.begin([TP])
        clock.now += 10
        progress.end([TP], progressed=False)
    assert progress.stalled() == [Stall(*TP, 70.0)]


def test_a_second_batch_in_flight_does_not_hide_a_stall_and_a_done_one_restarts_the_clock():
    clock = Clock()
    progress = Progress(60, clock)
    progress.begin([TP])
    clock.now += 30
    progress.begin([TP])  # the next batch of the same partition, pipelined
    clock.now += 31
    assert [s.partition for s in progress.stalled()] == [2]
    progress.end([TP], progressed=True)  # the first one is stored: progress
    assert progress.stalled() == [] and progress.busy() == [TP]


def test_revoked_partitions_are_forgotten():
    clock = Clock()
    progress = Progress(60, clock)
    progress.begin([TP])
    clock.now += 100
    progress.forget([TP])
    assert progress.stalled() == []


async def test_a_long_handler_that_beats_is_not_stalled():
    clock = Clock()
    progress = Progress(60, clock)
    with handling(progress, [TP]):
        for _ in range(5):
            clock.now += 50
            beat()
            assert progress.stalled() == []
    with pytest.raises(RuntimeError), handling(progress, [TP]):
        raise RuntimeError("fails")
    clock.now += 61
    assert progress.stalled() == [Stall(*TP, 61.0)]


def test_stalls_are_logged_once_with_topic_and_partition(caplog):
    clock = Clock()
    progress = Progress(60, clock)
    progress.begin([TP])
    clock.now += 61
    with caplog.at_level(logging.INFO, logger="learnloop_shared.kafka.progress"):
        progress.check("g")
        progress.check("g")
        progress.end([TP], progressed=True)
        progress.check("g")
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].topic == TP[0] and warnings[0].partition == 2
    assert "learnloop.share-requests partition 2" in warnings[0].getMessage()
    assert any("progressing again" in r.getMessage() for r in caplog.records)


def test_membership_counts_time_out_of_the_group():
    clock = Clock()
    m = Membership("g", clock)
    clock.now += 5
    assert m.out_for() == 5  # not joined yet since start
    m.joined()
    clock.now += 100
    assert m.out_for() == 0
    m.left()
    clock.now += 7
    m.left()  # a second revoke does not restart the count
    clock.now += 3
    assert m.out_for() == 10
