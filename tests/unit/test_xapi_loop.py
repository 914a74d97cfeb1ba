"""The loop through xAPI, pure rules: events -> statements (out), statements -> candidates (in)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from learnloop_learn.config import LearnSettings
from learnloop_learn.domain.xapi.loop import (
    ANSWERED,
    ASKED,
    COMPLETED,
    DEFAULT_VERB_MAP,
    EXPERIENCED,
    EXT_REVISION,
    FAILED,
    PASSED,
    RATED,
    USED,
    Candidate,
    Out,
    candidate,
    check_verb_map,
    learnloop_authority_key,
    may_take_in,
    statement_id,
)
from learnloop_learn.domain.xapi.statements import prepare, stored_document
from learnloop_learn.domain.xapi.validation import validate_statement
from learnloop_shared.events import LearningAcknowledged, LearningAnswered, LearningChecked
from pydantic import ValidationError

URL = "https://learn.example.com"
HOME = "https://people.example.com"
AT = datetime(2026, 12, 1, 9, 30, 0, 123000, tzinfo=UTC)
OUT = Out(URL, HOME)
SHARE = f"{URL}/xapi/activities/shares/s1"


def ack(kind: str, **fields: object) -> LearningAcknowledged:
    base: dict[str, object] = {
        "acknowledgement_id": f"s1|bob|{kind}",
        "share_id": "s1",
        "author_id": "ann",
        "recipient_id": "bob",
        "title": "Tuning Kafka",
        "kind": kind,
        "acknowledged_at": AT,
        "revision": 2,
    }
    return LearningAcknowledged.model_validate(base | fields)


@pytest.mark.parametrize(
    ("kind", "verb", "fields"),
    [
        ("opened", EXPERIENCED, {}),
        ("learned", COMPLETED, {}),
        ("applied", USED, {}),
        ("rated", RATED, {"rating": 4}),
        ("question", ASKED, {"text": "Does it apply to faust?", "acknowledgement_id": "q1"}),
    ],
)
def test_each_acknowledgement_is_a_statement_about_the_share(kind: str, verb: str, fields: dict[str, object]) -> None:
    s = OUT.acknowledged(ack(kind, **fields), "event-1", "https://wiki.example.com/kafka")
    assert s is not None
    assert s["actor"] == {"objectType": "Agent", "account": {"homePage": HOME, "name": "bob"}}
    assert s["verb"]["id"] == verb
    assert s["object"] == {
        "objectType": "Activity",
        "id": SHARE,
        "definition": {
            "name": {"en": "Tuning Kafka"},
            "type": "http://adlnet.gov/expapi/activities/link",
            "moreInfo": "https://wiki.example.com/kafka",
        },
    }
    assert s["timestamp"] == "2026-12-01T09:30:00.123Z"
    assert s["context"]["extensions"][EXT_REVISION] == 2
    validate_statement(s, "1.0.3")


def test_results_carry_the_rating_the_question_and_completion() -> None:
    rated = OUT.acknowledged(ack("rated", rating=4), "e", None)
    assert rated is not None and rated["result"] == {"score": {"raw": 4, "min": 1, "max": 5, "scaled": 0.8}}
    asked = OUT.acknowledged(ack("question", text="Why?", acknowledgement_id="q1"), "e", None)
    assert asked is not None and asked["result"] == {"response": "Why?"}
    learned = OUT.acknowledged(ack("learned"), "e", None)
    assert learned is not None and learned["result"] == {"completion": True}


def test_statement_ids_are_stable_so_replays_store_nothing_new() -> None:
    first = OUT.acknowledged(ack("learned"), "event-1", None)
    again = OUT.acknowledged(ack("learned"), "event-2", None)  # the same acknowledgement, another event id
    assert first is not None and again is not None and first["id"] == again["id"]
    uuid.UUID(first["id"])
    # Each rating given is a statement of its own: its id follows the event.
    r1, r2 = OUT.acknowledged(ack("rated", rating=3), "e1", None), OUT.acknowledged(ack("rated", rating=5), "e2", None)
    assert r1 is not None and r2 is not None and r1["id"] != r2["id"]
    assert OUT.acknowledged(ack("rated", rating=3), "e1", None) == r1


def test_an_acknowledgement_from_a_statement_makes_no_second_statement() -> None:
    assert OUT.acknowledged(ack("learned", statement_id=str(uuid.uuid4())), "e", None) is None


def test_more_info_only_for_a_web_url() -> None:
    for url in (None, "", "wiki page", "ftp://x/y"):
        s = OUT.acknowledged(ack("opened"), "e", url)
        assert s is not None and "moreInfo" not in s["object"]["definition"]


def test_a_check_attempt_passes_or_fails_with_its_score() -> None:
    ev = LearningChecked(
        attempt_id="a1",
        share_id="s1",
        author_id="ann",
        recipient_id="bob",
        title="Tuning Kafka",
        attempt=2,
        score=0.5,
        passed=False,
        correct=(True, False),
        checked_at=AT,
    )
    s = OUT.checked(ev, None)
    assert s["verb"]["id"] == FAILED and s["id"] == statement_id("check:a1")
    assert s["result"] == {"score": {"scaled": 0.5, "raw": 1, "min": 0, "max": 2}, "success": False, "completion": True}
    passed = OUT.checked(ev.model_copy(update={"passed": True, "score": 1.0, "correct": (True, True)}), None)
    assert passed["verb"]["id"] == PASSED and passed["result"]["success"] is True
    validate_statement(s, "1.0.3")


def test_an_answer_refers_to_its_question() -> None:
    ev = LearningAnswered(
        answer_id="x1",
        question_id="q1",
        share_id="s1",
        author_id="ann",
        title="Tuning Kafka",
        asked_by="bob",
        answered_by="ann",
        text="Yes.",
        answered_at=AT,
    )
    s = OUT.answered(ev, None)
    assert s["verb"]["id"] == ANSWERED and s["actor"]["account"]["name"] == "ann" and s["object"]["id"] == SHARE
    assert s["result"] == {"response": "Yes."}
    assert s["context"]["contextActivities"]["parent"][0]["id"] == f"{SHARE}/questions/q1"
    asked = OUT.acknowledged(ack("question", text="?", acknowledgement_id="q1"), "e", None)
    assert asked is not None
    assert s["context"]["statement"] == {"objectType": "StatementRef", "id": asked["id"]}


# --- in ------------------------------------------------------------------------------------------


def st(verb: str, obj: object, actor: object) -> dict[str, object]:
    return {"actor": actor, "verb": {"id": verb}, "object": obj}


BOB = {"objectType": "Agent", "account": {"homePage": HOME, "name": "bob"}}
BOB_MAIL = {"mbox": "mailto:Bob@Example.com"}
VM = DEFAULT_VERB_MAP


def test_a_share_activity_and_a_learnloop_account_make_a_candidate() -> None:
    c = candidate(st(COMPLETED, {"id": SHARE}, BOB), VM, URL, HOME)
    assert c == Candidate("learned", "s1", None, "bob", None)


def test_any_other_activity_may_be_a_shares_url_and_an_mbox_a_users_email() -> None:
    c = candidate(st(EXPERIENCED, {"objectType": "Activity", "id": "https://wiki/x"}, BOB_MAIL), VM, URL, HOME)
    assert c == Candidate("opened", None, "https://wiki/x", None, "bob@example.com")


@pytest.mark.parametrize(
    "statement",
    [
        st("http://example.com/verbs/liked", {"id": SHARE}, BOB),  # verb not mapped
        st(COMPLETED, {"objectType": "StatementRef", "id": str(uuid.uuid4())}, BOB),  # not an activity
        st(COMPLETED, {"objectType": "Agent", "mbox": "mailto:a@b"}, BOB),
        st(COMPLETED, {"id": SHARE}, {"objectType": "Group", "member": [BOB]}),  # a group is nobody's
        st(COMPLETED, {"id": SHARE}, {"account": {"homePage": "https://other.example.com", "name": "bob"}}),
        st(COMPLETED, {"id": SHARE}, {"mbox_sha1sum": "a" * 40}),
        st(COMPLETED, {"id": SHARE}, {"openid": "https://openid.example.com/bob"}),
        st(COMPLETED, {"id": f"{SHARE}/questions/q1"}, BOB),  # under a share, not the share
        st(COMPLETED, {"id": f"{URL}/xapi/activities/shares/"}, BOB),
    ],
)
def test_what_cannot_acknowledge_anything(statement: dict[str, object]) -> None:
    assert candidate(statement, VM, URL, HOME) is None


SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_the_verb_map_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNLOOP_AUTH_SECRET", SECRET)
    monkeypatch.setenv("LEARNLOOP_XAPI_VERB_MAP", '{"http://example.com/verbs/read": "opened"}')
    assert LearnSettings().xapi_verbs() == {"http://example.com/verbs/read": "opened"}
    monkeypatch.delenv("LEARNLOOP_XAPI_VERB_MAP")
    assert LearnSettings().xapi_verbs() == DEFAULT_VERB_MAP
    assert DEFAULT_VERB_MAP[EXPERIENCED] == "opened" and DEFAULT_VERB_MAP[COMPLETED] == "learned"
    assert DEFAULT_VERB_MAP[PASSED] == DEFAULT_VERB_MAP["http://adlnet.gov/expapi/verbs/mastered"] == "learned"
    for bad in ({"http://example.com/v": "rated"}, {"not an iri": "opened"}):
        with pytest.raises(ValidationError):
            LearnSettings(xapi_verb_map=bad)
    with pytest.raises(ValueError, match="at most"):
        check_verb_map({f"http://example.com/v/{i}": "opened" for i in range(101)})


def test_only_statements_others_wrote_with_a_mapped_verb_on_an_activity_are_marked() -> None:
    tool = {"objectType": "Agent", "account": {"homePage": f"{URL}/xapi/credentials", "name": "k1"}}
    ours = {"objectType": "Agent", "name": "Learnloop", "account": {"homePage": f"{URL}/xapi", "name": "learnloop"}}
    key = learnloop_authority_key(URL)

    def doc(verb: str, obj: dict[str, object], authority: dict[str, object]) -> dict[str, object]:
        s = prepare(st(verb, obj, BOB), authority=authority, stored=AT, version="1.0.3")
        return stored_document(s, AT)

    def marked(d: dict[str, object]) -> bool:
        return may_take_in(d, VM, key, URL, HOME)

    assert marked(doc(COMPLETED, {"id": SHARE}, tool))
    assert marked(doc(EXPERIENCED, {"id": "https://wiki/x"}, tool))
    assert not marked(doc(COMPLETED, {"id": SHARE}, ours))
    assert not marked(doc("http://example.com/verbs/liked", {"id": SHARE}, tool))
    assert not marked(doc(COMPLETED, {"objectType": "StatementRef", "id": str(uuid.uuid4())}, tool))
    assert not marked(doc(COMPLETED, {"id": f"{SHARE}/questions/q1"}, tool))
