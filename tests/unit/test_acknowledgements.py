from datetime import UTC, datetime

import pytest
from learnloop_learn.domain.acknowledgements import AckIn, Outcome, Question, ack_id, rating_outcome, summarize
from pydantic import ValidationError


def test_once_kinds_have_a_natural_key_questions_do_not():
    assert ack_id("s", "u", "learned", "q1") == ack_id("s", "u", "learned", "q2") == "s|u|learned"
    assert ack_id("s", "u", "rated", "q1") == "s|u|rated"
    assert ack_id("s", "u", "question", "q1") == "q1"


def test_later_confirm_cycles_get_keys_of_their_own():
    assert ack_id("s", "u", "learned", "q1", 1) == "s|u|learned"
    assert ack_id("s", "u", "learned", "q1", 3) == "s|u|learned|c3"
    assert ack_id("s", "u", "rated", "q1", 2) == "s|u|rated|c2"
    assert ack_id("s", "u", "question", "q1", 2) == "q1"


def test_rating_outcomes():
    assert rating_outcome(None, 4) is Outcome.created
    assert rating_outcome(4, 4) is Outcome.repeated
    assert rating_outcome(4, 5) is Outcome.replaced


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "rated"},
        {"kind": "rated", "rating": 6},
        {"kind": "rated", "rating": 0},
        {"kind": "opened", "rating": 3},
        {"kind": "question"},
        {"kind": "question", "text": "   "},
        {"kind": "shrugged"},
    ],
)
def test_invalid_acknowledgements(body):
    with pytest.raises(ValidationError):
        AckIn.model_validate(body)


def test_summary_counts_and_average():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    questions = [Question(id="q1", text="q", at=at, from_="u")]
    fb = summarize("s1", "T", 10, {"opened": 7, "learned": 4, "applied": 1, "rated": 2}, 9, questions)
    assert (fb.recipients, fb.opened, fb.learned, fb.applied) == (10, 7, 4, 1)
    assert fb.ratings.count == 2 and fb.ratings.average == 4.5
    assert fb.model_dump(by_alias=True)["questions"][0]["from"] == "u"


def test_summary_without_ratings_has_no_average():
    fb = summarize("s1", "T", 0, {}, 0, [])
    assert fb.ratings.count == 0 and fb.ratings.average is None
