import pytest
from learnloop_share.domain.shares import ShareDraft
from pydantic import ValidationError


def draft(**kw):
    body = {"title": "Kafka tips", "audience": {"users": ["bob"]}}
    body.update(kw)
    return ShareDraft.model_validate(body)


def test_audience_deduplicated_in_order():
    d = draft(audience={"users": ["bob", "carol", "bob"], "teams": ["t", "t"], "topics": ["Kafka", "kafka"]})
    assert d.audience.users == ["bob", "carol"]
    assert d.audience.teams == ["t"]
    assert d.audience.topics == ["kafka"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "audience": {"users": ["bob"]}},
        {"title": "x", "audience": {}},
        {"title": "x", "audience": {"users": []}},
        {"title": "x", "audience": {"users": ["bob"]}, "url": "not a url"},
        {"title": "x", "audience": {"users": ["bob"]}, "unexpected": 1},
        {"title": "x", "audience": {"topics": ["bad topic"]}},
        {"title": "x", "audience": {"users": ["has space"]}},
    ],
)
def test_invalid_drafts_rejected(body):
    with pytest.raises(ValidationError):
        ShareDraft.model_validate(body)


def test_fingerprint_depends_on_body_and_author():
    a, b = draft(), draft(title="Other")
    assert a.fingerprint("alice") == draft().fingerprint("alice")
    assert a.fingerprint("alice") != b.fingerprint("alice")
    assert a.fingerprint("alice") != a.fingerprint("bob")


# --- follow-through fields ---------------------------------------------------------------------------
FUTURE = "2999-01-01T00:00:00Z"


def test_follow_through_defaults():
    d = draft()
    assert (d.requires, d.due_at, d.reminders, d.builds_on) == ("learned", None, [], [])


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (["P2D", "PT4H", "PT3S"], ["PT3S", "PT4H", "P2D"]),  # earliest first
        (["P1W"], ["P7D"]),
        (["PT90M", "PT1H30M", "PT5400S"], ["PT1H30M"]),  # one reminder per offset
        (["p1dt2h"], ["P1DT2H"]),
        (["P0.5D"], ["PT12H"]),
        (["PT1S"], ["PT1S"]),
        (["P366D"], ["P366D"]),
    ],
)
def test_reminders_are_normalised_ordered_and_distinct(given, stored):
    assert draft(reminders=given).reminders == stored


@pytest.mark.parametrize(
    "reminder",
    ["P1M", "P1Y", "PT0S", "P0D", "PT0.5S", "-P1D", "P", "PT", "1 day", "3600", "P367D", "", "PT1S " * 20],
)
def test_invalid_reminders_are_refused(reminder):
    with pytest.raises(ValidationError):
        draft(reminders=[reminder])


def test_at_most_ten_reminders_and_twenty_builds_on():
    assert len(draft(reminders=[f"PT{i}S" for i in range(1, 11)]).reminders) == 10
    with pytest.raises(ValidationError):
        draft(reminders=[f"PT{i}S" for i in range(1, 12)])
    assert draft(builds_on=["a", "b", "a"]).builds_on == ["a", "b"]
    with pytest.raises(ValidationError):
        draft(builds_on=[f"s{i}" for i in range(21)])
    with pytest.raises(ValidationError):
        draft(builds_on=["has space"])


@pytest.mark.parametrize("due_at", ["2020-01-01T00:00:00Z", "2999-01-01T00:00:00", "3000-01-01T00:00:00Z", "soon"])
def test_due_at_must_be_a_future_time_with_a_time_zone(due_at):
    with pytest.raises(ValidationError):
        draft(due_at=due_at)


def test_due_at_is_kept_in_utc():
    from datetime import UTC, datetime

    assert draft(due_at="2999-01-01T02:00:00+02:00").due_at == datetime(2999, 1, 1, tzinfo=UTC)
    # to the millisecond, as MongoDB stores it: events and the stored share carry the same due time
    assert draft(due_at="2999-01-01T00:00:00.123456Z").due_at == datetime(2999, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize("requires", ["opened", "learned", "applied"])
def test_requires(requires):
    assert draft(requires=requires).requires == requires


def test_requires_is_one_of_three():
    with pytest.raises(ValidationError):
        draft(requires="read")


def test_fingerprint_of_a_request_without_the_new_fields_is_unchanged():
    """A retry across an upgrade (same Idempotency-Key, same body) still matches the share it created."""
    import hashlib
    import json

    d = draft()
    later = {"requires", "due_at", "reminders", "builds_on", "checks", "pass_mark", "max_attempts"}
    before = {**d.model_dump(mode="json", exclude=later)}
    before["author_id"] = "alice"
    assert d.fingerprint("alice") == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()
    assert draft(requires="applied").fingerprint("alice") != d.fingerprint("alice")
    assert draft(reminders=["P1D"]).fingerprint("alice") != d.fingerprint("alice")


# --- PATCH -------------------------------------------------------------------------------------------
def patch(**kw):
    from learnloop_share.domain.shares import SharePatch

    return SharePatch.model_validate(kw)


def test_patch_names_the_fields_it_sets_in_a_fixed_order():
    p = patch(topics=["Kafka"], title="New", reconfirm=False)
    assert p.changed() == ("title", "topics") and p.topics == ["kafka"] and p.reconfirm is False
    assert patch(title="x").reconfirm is True


def test_patch_may_clear_summary_url_and_due_at():
    assert patch(summary=None, url=None, due_at=None).changed() == ("summary", "url", "due_at")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reconfirm": True},
        {"reconfirm": False},
        {"title": None},
        {"title": ""},
        {"topics": None},
        {"reminders": None},
        {"reminders": ["P1M"]},
        {"due_at": "2020-01-01T00:00:00Z"},
        {"due_at": "2999-01-01T00:00:00"},
        {"audience": {"users": ["x"]}},
        {"requires": "applied"},
        {"builds_on": ["x"]},
        {"title": "x", "unexpected": 1},
    ],
)
def test_invalid_patches_are_refused(body):
    from learnloop_share.domain.shares import SharePatch

    with pytest.raises(ValidationError):
        SharePatch.model_validate(body)


def test_patch_fields_store_normal_forms():
    from learnloop_share.usecases.revising import patch_fields

    fields = patch_fields(patch(reminders=["PT4H", "PT3S"], url="https://x.example/a", due_at=FUTURE))
    assert fields["reminders"] == ["PT3S", "PT4H"] and fields["reminder_offsets_s"] == [3, 14400]
    assert fields["url"] == "https://x.example/a" and fields["due_at"].year == 2999
    assert patch_fields(patch(url=None)) == {"url": None}


def test_durations_round_trip_through_the_normal_form():
    from learnloop_share.domain.schedule import format_duration, reminder_seconds

    for seconds in (1, 59, 60, 61, 3600, 3661, 86_400, 90_061, 366 * 86_400):
        assert reminder_seconds(format_duration(seconds)) == seconds


# --- knowledge checks ----------------------------------------------------------------------------------
CHECK = {"question": "Which offset is committed?", "choices": ["the last read", "the next to read"], "answer": 1}


def test_checks_default_to_none_with_default_pass_mark_and_attempts():
    d = draft()
    assert (d.checks, d.pass_mark, d.max_attempts) == ([], 1.0, 3)


def test_checks_are_accepted_with_their_limits():
    d = draft(checks=[CHECK] * 10, pass_mark=0.5, max_attempts=20)
    assert len(d.checks) == 10 and d.checks[0].answer == 1 and d.checks[0].choices == tuple(CHECK["choices"])
    six = {**CHECK, "choices": list("abcdef"), "answer": 5}
    assert draft(checks=[six], pass_mark=1, max_attempts=1).checks[0].answer == 5


def _error_locs(**kw) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        draft(**kw)
    return [".".join(str(x) for x in e["loc"]) for e in exc.value.errors()]


@pytest.mark.parametrize(
    ("kw", "loc"),
    [
        ({"checks": [{**CHECK, "answer": 2}]}, "checks.0"),  # not the index of one of the 2 choices
        ({"checks": [{**CHECK, "answer": -1}]}, "checks.0.answer"),
        ({"checks": [{**CHECK, "choices": ["only one"], "answer": 0}]}, "checks.0.choices"),
        ({"checks": [{**CHECK, "choices": list("abcdefg")}]}, "checks.0.choices"),
        ({"checks": [CHECK] * 11}, "checks"),
        ({"checks": [{**CHECK, "question": ""}]}, "checks.0.question"),
        ({"checks": [{**CHECK, "choices": ["yes", ""]}]}, "checks.0"),
        ({"checks": [{**CHECK, "question": "q" * 1001}]}, "checks.0.question"),
        ({"checks": [{**CHECK, "hint": "x"}]}, "checks.0.hint"),  # unknown keys refused, like the rest of a draft
        ({"checks": [{"question": "q", "choices": ["a", "b"]}]}, "checks.0.answer"),
        ({"pass_mark": 0}, "pass_mark"),
        ({"pass_mark": 1.5}, "pass_mark"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 21}, "max_attempts"),
    ],
)
def test_invalid_checks_are_refused_naming_the_field(kw, loc):
    assert loc in _error_locs(**kw)


def test_fingerprint_unchanged_by_default_check_settings_and_changed_by_checks():
    plain = draft().fingerprint("alice")
    assert draft(pass_mark=1.0, max_attempts=3, checks=[]).fingerprint("alice") == plain
    assert draft(checks=[CHECK]).fingerprint("alice") != plain
    assert draft(checks=[CHECK]).fingerprint("alice") != draft(checks=[{**CHECK, "answer": 0}]).fingerprint("alice")


def test_share_without_answers_keeps_questions_and_drops_every_answer():
    from datetime import UTC, datetime

    from learnloop_share.domain.shares import Audience, Share, ShareStatus
    from learnloop_shared.events import CheckItem

    share = Share(
        id="s",
        author_id="alice",
        title="t",
        audience=Audience(users=["bob"]),
        status=ShareStatus.accepted,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        checks=[CheckItem(**CHECK)],
        has_checks=True,
    )
    assert share.model_dump(mode="json")["checks"] == [CHECK]
    seen = share.without_answers().model_dump(mode="json")
    assert seen["checks"] == [{"question": CHECK["question"], "choices": CHECK["choices"]}]
    assert seen["has_checks"] is True
