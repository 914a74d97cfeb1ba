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
