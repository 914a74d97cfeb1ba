"""The author's dashboard rows (pure) and the SSE framing shared by the live streams."""

from __future__ import annotations

from datetime import UTC, datetime

from learnloop_learn.domain.checks import has_checks
from learnloop_learn.domain.dashboard import author_share
from learnloop_shared.http.sse import sse

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_share_has_checks_when_learn_was_told_so_or_holds_them():
    assert not has_checks({})
    assert not has_checks({"has_checks": False, "checks": []})
    assert has_checks({"has_checks": True})
    assert has_checks({"checks": [{"question": "q", "choices": ["a", "b"], "answer": 0}]})


def test_a_row_takes_its_counts_and_defaults_the_rest():
    share = {"_id": "s", "title": "T", "published_at": T0, "status": "retracted", "due_at": T0, "has_checks": True}
    row = author_share(share, {"recipients": 3, "opened": 2, "passed": 1, "pending": 2, "completed": 1, "rated": 9})
    assert row.model_dump() == {
        "share_id": "s",
        "title": "T",
        "url": None,
        "published_at": T0,
        "status": "retracted",
        "requires": "learned",
        "due_at": T0,
        "has_checks": True,
        "recipients": 3,
        "opened": 2,
        "learned": 0,
        "applied": 0,
        "passed": 1,
        "completed": 1,
        "pending": 2,
        "overdue": 0,
    }
    assert author_share({"_id": "s", "title": "T", "published_at": T0, "status": "odd"}, {}).status == "active"


def test_sse_frames_each_line_of_data():
    assert sse("changed", '{"share_id": "s"}') == b'event: changed\ndata: {"share_id": "s"}\n\n'
    assert sse("x", "a\nb", "7") == b"event: x\nid: 7\ndata: a\ndata: b\n\n"
    assert sse("x", "") == b"event: x\ndata: \n\n"
