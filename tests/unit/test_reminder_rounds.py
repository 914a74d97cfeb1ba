"""Pure rules of reminder rounds: who is pending, how a round walks its buckets, cycles, ids, waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from learnloop_learn.domain.rounds import (
    Position,
    batch_size,
    chunks_from,
    is_completed,
    manual_round_id,
    overdue_event_id,
    pending_users,
    previous_cycle_start,
    reminded_event_id,
    retry_after_s,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_completed_means_completed_since_the_latest_reconfirmation():
    assert is_completed({"last_completed_revision": 2}, 2)
    assert is_completed({"last_completed_revision": 3}, 2)
    assert not is_completed({"last_completed_revision": 1}, 2)
    assert not is_completed({"last_completed_revision": None}, 1)
    assert not is_completed({}, 1)


def test_pending_users_keep_their_order_without_those_who_completed():
    assert pending_users(["c", "a", "b", "d"], {"a", "x"}) == ["c", "b", "d"]
    assert pending_users(["a"], ["a"]) == []


def test_a_round_resumes_inside_the_bucket_it_stopped_in_and_walks_the_others_whole():
    users = [f"u{i}" for i in range(7)]
    assert chunks_from("s|b1", users, Position(), 3) == [(0, users[0:3]), (3, users[3:6]), (6, users[6:7])]
    assert chunks_from("s|b1", users, Position("s|b1", 3), 3) == [(3, users[3:6]), (6, users[6:7])]
    assert chunks_from("s|b1", users, Position("s|b1", 7), 3) == []  # that bucket was finished
    assert chunks_from("s|b2", users, Position("s|b1", 3), 10) == [(0, users)]


def test_batch_ids_are_stable_and_distinct_per_round_bucket_and_offset():
    a = reminded_event_id("s|s60", "s|o0:1", 0)
    assert a == reminded_event_id("s|s60", "s|o0:1", 0)
    assert len({a, reminded_event_id("s|s60", "s|o0:1", 20), reminded_event_id("s|s120", "s|o0:1", 0)}) == 3
    due = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    assert overdue_event_id("s", due) == overdue_event_id("s", due) != overdue_event_id("s", due + timedelta(hours=1))


def test_a_revision_ends_the_cycle_started_by_the_latest_earlier_reconfirmation():
    revisions = [
        {"revision": 1, "reconfirm": True},
        {"revision": 2, "reconfirm": False},
        {"revision": 3, "reconfirm": True},
        {"revision": 4, "reconfirm": False},
        {"revision": 5, "reconfirm": True},
    ]
    assert previous_cycle_start(revisions, 3) == 1
    assert previous_cycle_start(revisions, 5) == 3
    assert previous_cycle_start([], 2) == 1


def test_manual_reminders_wait_out_the_interval_in_whole_seconds():
    assert retry_after_s(None, NOW, 3600) == 0
    assert retry_after_s(NOW - timedelta(seconds=10), NOW, 3600) == 3590
    assert retry_after_s(NOW - timedelta(seconds=3599, milliseconds=500), NOW, 3600) == 1
    assert retry_after_s(NOW - timedelta(hours=2), NOW, 3600) == 0
    assert manual_round_id("s", NOW) == f"s|m{int(NOW.timestamp() * 1000)}"


def test_events_carry_at_most_a_thousand_recipients():
    assert batch_size(50) == 50 and batch_size(5000) == 1000 and batch_size(0) == 1
