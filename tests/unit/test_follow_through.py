"""Learn's follow-through rules: completion per ``requires``, statuses, confirm cycles, the round plan."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from learnloop_learn.api.progress import _decode, _encode
from learnloop_learn.domain import follow_through as ft
from learnloop_learn.domain.follow_through import (
    completed_per_revision,
    completes,
    cycle_start,
    is_completed,
    offsets_of,
    planned_steps,
    reminders_sent,
    revision_step,
    split_counts,
    status_of,
)
from learnloop_learn.domain.shares import new_share
from learnloop_shared.http.problems import Problem

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("requires", "done_by"),
    [
        ("opened", {"opened", "learned", "applied", "rated", "question"}),
        ("learned", {"learned", "applied"}),
        ("applied", {"applied"}),
    ],
)
def test_what_completes_a_share_follows_what_it_requires(requires, done_by):
    for kind in ("opened", "learned", "applied", "rated", "question"):
        assert completes(requires, kind) is (kind in done_by), kind


def test_completed_means_a_completion_in_the_current_confirm_cycle():
    assert not is_completed(None, 1)
    assert is_completed(1, 1) and is_completed(3, 2)
    assert not is_completed(1, 2)  # completed revision 1, then a revision asked to confirm again


def test_status_is_completed_else_overdue_after_the_due_time_else_pending():
    assert status_of(True, T0, T0 + timedelta(days=1)) == "completed"
    assert status_of(False, T0, T0 + timedelta(seconds=1)) == "overdue"
    assert status_of(False, T0, T0) == "pending"  # at the due time, not past it
    assert status_of(False, None, T0) == "pending"  # no due time: never overdue


def test_counts_are_disjoint_and_add_up_to_the_recipients():
    assert split_counts(10, 3, None, T0) == {"completed": 3, "pending": 7, "overdue": 0}
    assert split_counts(10, 3, T0, T0 + timedelta(seconds=1)) == {"completed": 3, "pending": 0, "overdue": 7}
    assert split_counts(2, 5, None, T0) == {"completed": 2, "pending": 0, "overdue": 0}  # never negative


REVISIONS = [
    {"revision": 1, "at": T0, "reconfirm": True},
    {"revision": 2, "at": T0, "reconfirm": False},
    {"revision": 3, "at": T0, "reconfirm": True},
    {"revision": 4, "at": T0, "reconfirm": False},
]


def test_a_confirm_cycle_starts_at_the_latest_revision_that_asked_to_confirm_again():
    assert [cycle_start(REVISIONS, r) for r in (1, 2, 3, 4)] == [1, 1, 3, 3]


def test_completions_per_revision_count_those_of_its_cycle_up_to_it():
    lists = [([1], 5), ([2], 2), ([1, 3], 4), ([4], 1)]
    assert completed_per_revision(REVISIONS, lists) == {1: 9, 2: 11, 3: 4, 4: 5}


def test_reminder_durations_become_seconds_and_bad_ones_are_left_out():
    assert offsets_of(["P2D", "PT4H", "PT3S", "P1DT1S", "nonsense", "PT0S"]) == [172800, 14400, 3, 86401]


def test_the_plan_has_a_round_per_reminder_and_one_overdue_notice():
    share = new_share("s1", "ann", "T", None, (), T0, "learned", T0 + timedelta(hours=5), ["PT4H", "PT3S", "PT4H"])
    steps = planned_steps(share)
    assert [(s.id, s.reason, s.due) for s in steps] == [
        ("s1|s3", "scheduled", T0 + timedelta(seconds=3)),
        ("s1|s14400", "scheduled", T0 + timedelta(hours=4)),
        (f"s1|due@{(T0 + timedelta(hours=5)).isoformat()}", "overdue", T0 + timedelta(hours=5)),
    ]
    assert planned_steps(new_share("s2", "ann", "T", None, (), T0)) == []
    r = revision_step("s1", 3, T0)
    assert (r.id, r.reason, r.revision) == ("s1|r3", "revised", 3)


def test_reminders_sent_counts_rounds_started_before_completion_or_all_if_not_completed():
    starts = [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert reminders_sent(starts, T0 + timedelta(minutes=90), True) == 2
    assert reminders_sent(starts, T0 + timedelta(minutes=90), False) == 3
    assert reminders_sent([], None, False) == 0


def test_a_new_share_copy_starts_at_revision_one_active():
    s = new_share("s1", "ann", "T", "https://x", ["a"], T0, "applied", None, ["PT1M"], 1)
    assert s["reminder_offsets_s"] == [60] and s["confirm_revision"] == 1 and s["status"] == "active"
    assert s["revisions"] == [{"revision": 1, "at": T0, "reconfirm": True}] and s["built_upon"] == 0


def test_progress_cursors_name_a_position_in_one_of_the_shares_buckets():
    assert _decode(_encode(("s1|o0:5", 7)), "s1") == ("s1|o0:5", 7)
    for bad in ("", "!!", _encode(("s2|o0:5", 7)), _encode(("s1|o0:5", -1)), _encode(("s1|o0:5", 1000))):
        with pytest.raises(Problem):
            _decode(bad, "s1")
    for raw in (b"[]", b"{}", b"[1, 2]", b'["s1|x", true]', b'["s1|x", 1.0]', b"7"):
        with pytest.raises(Problem):
            _decode(base64.urlsafe_b64encode(raw).decode(), "s1")


def test_progress_after_records_kinds_per_cycle_and_completes_once():
    at1, at2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    fields, done = ft.progress_after(None, "learned", 1, 1, "opened", at1)
    assert not done and fields["acknowledged"] == ["opened"] and fields["completed_revisions"] == []
    fields, done = ft.progress_after(fields, "learned", 1, 1, "learned", at2)
    assert done and fields["completed_revisions"] == [1] and fields["last_completed_revision"] == 1
    assert fields["completed_at"] == at2 and fields["acknowledged"] == ["opened", "learned"]
    again, done = ft.progress_after(fields, "learned", 1, 2, "applied", at2)  # completed already this cycle
    assert not done and again["completed_revisions"] == [1]
    # A revision that asks to confirm again (cycle 3): the kinds start again, the earlier completion stays.
    fields, done = ft.progress_after(fields, "learned", 3, 3, "applied", at2)
    assert done and fields["acknowledged"] == ["applied"] and fields["completed_revisions"] == [1, 3]
    assert fields["first_at"] == {"applied": at2}  # the first time of each kind, per cycle


def test_progress_after_keeps_first_times_and_the_latest_rating():
    at1, at2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    fields, _ = ft.progress_after(None, "learned", 1, 1, "opened", at1)
    fields, _ = ft.progress_after(fields, "learned", 1, 1, "opened", at2)
    fields, _ = ft.progress_after(fields, "learned", 1, 1, "rated", at1, 4)
    fields, _ = ft.progress_after(fields, "learned", 1, 1, "rated", at2, 2)
    assert fields["first_at"] == {"opened": at1, "rated": at1} and fields["rating"] == 2
