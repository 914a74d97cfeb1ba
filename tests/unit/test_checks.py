"""Knowledge checks in learn: grading, answer validation, who may attempt, and what each reader sees."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from learnloop_learn.domain.acknowledgements import summarize
from learnloop_learn.domain.checks import (
    AttemptIn,
    CheckTotals,
    answer_errors,
    check_fields,
    checks_feedback,
    grade,
    has_checks,
    learned_needs_pass,
    refusal,
    state_checks,
    view,
)
from learnloop_learn.domain.shares import new_share
from learnloop_learn.domain.state import share_state
from pydantic import ValidationError

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHECKS = [
    {"question": "Which port?", "choices": ["80", "9092", "5432"], "answer": 1},
    {"question": "Ordered per?", "choices": ["topic", "partition"], "answer": 1},
    {"question": "Commit when?", "choices": ["before", "after", "never", "always"], "answer": 1},
]


def share(**fields):  # type: ignore[no-untyped-def]
    return new_share("s1", "ann", "Kafka", None, (), T0) | check_fields(CHECKS, 0.6, 3) | fields


def test_grading_counts_right_answers_and_compares_with_the_pass_mark():
    g = grade([1, 1, 0], CHECKS, 0.6)
    assert (g.score, g.passed, g.correct) == (2 / 3, True, (True, True, False))
    assert grade([0, 0, 0], CHECKS, 0.6) == grade([2, 0, 3], CHECKS, 0.6)
    assert grade([0, 0, 0], CHECKS, 0.6).score == 0 and not grade([0, 0, 0], CHECKS, 0.6).passed
    assert grade([1, 1, 1], CHECKS, 1.0).passed and not grade([1, 1, 0], CHECKS, 1.0).passed
    assert grade([1, 0, 0], CHECKS, 1 / 3).passed  # exactly at the mark passes


def test_a_mark_reached_exactly_passes_whatever_the_float_rounding():
    ten = [{"question": f"q{i}", "choices": ["a", "b"], "answer": 0} for i in range(10)]
    for right in range(11):
        answers = [0] * right + [1] * (10 - right)
        for mark_tenths in range(1, 11):
            assert grade(answers, ten, mark_tenths / 10).passed is (right >= mark_tenths)


@pytest.mark.parametrize(
    ("answers", "where"),
    [
        ([1, 1], [["body", "answers"]]),
        ([1, 1, 1, 1], [["body", "answers"]]),
        ([3, 1, 1], [["body", "answers", "0"]]),
        ([1, 2, 4], [["body", "answers", "1"], ["body", "answers", "2"]]),
        ([-1, 1, 1], [["body", "answers", "0"]]),
    ],
)
def test_answers_that_do_not_fit_the_check_are_named(answers, where):
    assert [e["loc"] for e in answer_errors(answers, CHECKS)] == where


def test_fitting_answers_have_no_errors_and_the_body_is_bounded():
    assert answer_errors([0, 1, 3], CHECKS) == []
    for body in ({"answers": []}, {"answers": list(range(11))}, {"answers": [1], "extra": 1}, {}):
        with pytest.raises(ValidationError):
            AttemptIn.model_validate(body)


def test_no_attempt_once_passed_or_out_of_attempts():
    assert refusal(None, 3) is None
    assert refusal({"check_attempts": 2}, 3) is None
    assert "no attempts left" in (refusal({"check_attempts": 3}, 3) or "")
    assert "passed" in (refusal({"check_attempts": 1, "check_passed": True}, 3) or "")


def test_recipients_never_see_the_answer_key_the_author_does():
    s = share()
    mine = view(s, {"check_attempts": 2, "check_passed": False}, author=False)
    dumped = mine.model_dump(exclude_none=True)
    assert "answer" not in json.dumps(dumped)
    assert dumped == {
        "items": [{"index": i, "question": c["question"], "choices": c["choices"]} for i, c in enumerate(CHECKS)],
        "pass_mark": 0.6,
        "max_attempts": 3,
        "attempts_used": 2,
        "passed": False,
    }
    authors = view(s, None, author=True).model_dump(exclude_none=True)
    assert [i["answer"] for i in authors["items"]] == [1, 1, 1]
    assert (authors["attempts_used"], authors["passed"]) == (0, False)


def test_a_share_has_a_check_by_its_questions_or_by_what_a_delivery_said():
    assert has_checks(share())
    assert not has_checks(new_share("s1", "ann", "Kafka", None, (), T0))
    assert has_checks(new_share("s1", "ann", "Kafka", None, (), T0, has_checks=True))  # questions still to come
    assert not has_checks(share() | check_fields([], 1.0, 3))
    assert check_fields([], 1.0, 3) == {"checks": [], "pass_mark": 1.0, "max_attempts": 3, "has_checks": False}


def test_learned_waits_for_a_pass_only_on_shares_with_a_check():
    assert learned_needs_pass(share(), None)
    assert learned_needs_pass(share(), {"check_attempts": 3, "check_passed": False})
    assert not learned_needs_pass(share(), {"check_passed": True})
    assert not learned_needs_pass(new_share("s1", "ann", "Kafka", None, (), T0), None)


def test_the_recipients_state_carries_their_check_without_answers():
    s = share()
    progress = {"check_attempts": 2, "check_best": 2 / 3, "check_passed": True, "check_correct": [True, True, False]}
    state = share_state(s, progress, [], {}, T0)
    assert state.checks is not None
    assert state.checks.model_dump() == {
        "questions": 3,
        "max_attempts": 3,
        "attempts_used": 2,
        "passed": True,
        "best_score": 2 / 3,
    }
    assert share_state(s, None, [], {}, T0).checks == state_checks(s, None)
    assert state_checks(s, None) is not None and state_checks(s, None).best_score is None  # type: ignore[union-attr]
    assert share_state(new_share("s1", "ann", "K", None, (), T0), None, [], {}, T0).checks is None


def test_feedback_on_the_check_rates_per_recipient_who_attempted():
    fb = checks_feedback(share(), CheckTotals(attempted=4, passed=3, attempts=7, correct=(4, 3, 1)))
    assert fb is not None
    assert (fb.attempted, fb.passed, fb.pass_rate, fb.average_attempts) == (4, 3, 0.75, 1.75)
    assert [(q.index, q.question, q.correct_rate) for q in fb.questions] == [
        (0, "Which port?", 1.0),
        (1, "Ordered per?", 0.75),
        (2, "Commit when?", 0.25),
    ]
    none_yet = checks_feedback(share(), CheckTotals(correct=(0, 0, 0)))
    assert none_yet is not None and none_yet.pass_rate is None and none_yet.average_attempts is None
    assert [q.correct_rate for q in none_yet.questions] == [None, None, None]
    assert checks_feedback(new_share("s1", "ann", "K", None, (), T0), CheckTotals()) is None


def test_feedback_ratings_have_a_distribution_of_every_value():
    fb = summarize("s1", "T", 10, {"rated": 3}, 11, [], rating_distribution={5: 1, 3: 2})
    assert fb.ratings.distribution == {"1": 0, "2": 0, "3": 2, "4": 0, "5": 1}
    assert summarize("s1", "T", 0, {}, 0, []).ratings.distribution == {str(v): 0 for v in range(1, 6)}
    assert fb.checks is None
