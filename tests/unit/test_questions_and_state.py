"""Questions, answers and a recipient's state of a share: the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from learnloop_learn.domain.acknowledgements import AckIn
from learnloop_learn.domain.questions import AnswerIn, may_answer, may_read, thread_to_notify
from learnloop_learn.domain.state import cycle_ack_id, share_state, status_of
from pydantic import ValidationError

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_question_may_be_public_and_is_private_by_default():
    assert AckIn.model_validate({"kind": "question", "text": "why?"}).public is False
    assert AckIn.model_validate({"kind": "question", "text": "why?", "public": True}).public is True
    with pytest.raises(ValidationError):
        AckIn.model_validate({"kind": "learned", "public": True})


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "  \n"}, {"text": "x" * 5001}, {"text": "a", "x": 1}])
def test_invalid_answers(body):
    with pytest.raises(ValidationError):
        AnswerIn.model_validate(body)


def test_an_answer_of_5000_characters_is_fine():
    assert len(AnswerIn.model_validate({"text": "x" * 5000}).text) == 5000


@pytest.mark.parametrize(
    ("user", "public", "recipient", "allowed"),
    [
        ("author", False, False, True),  # the author: every question
        ("asker", False, True, True),  # the asker: their own, public or not
        ("carol", True, True, True),  # another recipient: public ones
        ("carol", False, True, False),  # ... not private ones
        ("dave", True, False, False),  # not a recipient: nothing
    ],
)
def test_who_reads_and_answers_a_question(user, public, recipient, allowed):
    assert may_read(user, "author", "asker", public, recipient) is allowed
    assert may_answer(user, "author", "asker", public, recipient) is allowed


def test_everyone_in_the_thread_but_the_writer_is_told_once():
    assert thread_to_notify("asker", "author", [], "author") == ("asker",)
    assert thread_to_notify("asker", "author", [], "asker") == ("author",)
    assert thread_to_notify("asker", "author", ["carol", "asker", "author", "dave"], "carol") == (
        "asker",
        "author",
        "dave",
    )
    assert thread_to_notify("author", "author", ["author"], "carol") == ("author",)  # the author asked


def test_acknowledgement_ids_of_a_cycle():
    assert cycle_ack_id("s", "u", "learned", 1) == "s|u|learned"
    assert cycle_ack_id("s", "u", "rated", 3) == "s|u|rated|c3"


def share(**fields):
    return {"_id": "s", "author_id": "a", "title": "T", **fields}


def test_status_completed_pending_overdue_retracted():
    due = NOW + timedelta(hours=1)
    done_r2 = {"last_completed_revision": 2, "completed_revisions": [1, 2]}
    assert status_of(share(), None, NOW) == "pending"
    assert status_of(share(due_at=due), None, NOW) == "pending"
    assert status_of(share(due_at=due), None, due + timedelta(seconds=1)) == "overdue"
    assert status_of(share(due_at=due, confirm_revision=2), done_r2, due + timedelta(days=1)) == "completed"
    assert status_of(share(confirm_revision=3, revision=3), done_r2, NOW) == "pending"  # confirm again
    assert status_of(share(confirm_revision=2, revision=4), done_r2, NOW) == "completed"  # no reconfirm since
    assert status_of(share(status="retracted"), done_r2, NOW) == "retracted"
    assert status_of(share(), {"done": True, "acknowledged": ["learned"]}, NOW) == "completed"  # stored before
    assert status_of(share(), {"done": True, "last_completed_revision": None}, NOW) == "pending"


def test_state_reports_the_current_cycle_and_all_questions():
    at = NOW - timedelta(hours=2)
    progress = {"last_completed_revision": 1, "completed_revisions": [1], "completed_at": at, "acknowledged": ["x"]}
    cycle_acks = [{"kind": "opened"}, {"kind": "rated", "rating": 5}]
    state = share_state(
        share(revision=2, confirm_revision=2, requires="applied"), progress, cycle_acks, {1: 2, 2: 1}, NOW
    )
    assert state.status == "pending" and state.requires == "applied" and state.revision == 2
    assert state.acknowledged == ["opened", "rated", "question"] and state.rating == 5
    assert state.questions_asked == 3 and state.completed_revisions == [1] and state.completed_at == at
    old = share_state(share(revision=2, confirm_revision=2), None, [], {1: 1}, NOW)
    assert old.acknowledged == [] and old.questions_asked == 1 and old.requires == "learned"
    assert old.completed_revisions == [] and old.rating is None and old.completed_at is None
