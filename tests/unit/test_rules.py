from learnloop_learn.domain import rules as learn_rules
from learnloop_share.domain import rules
from learnloop_shared.auth import Principal


def p(sub, *scopes):
    return Principal(sub=sub, scopes=frozenset(scopes))


def test_directory_needs_scope():
    assert rules.can_write_directory(p("a", "directory:write"))
    assert not rules.can_write_directory(p("a"))


def test_subscriptions_by_the_user_themself():
    assert rules.can_manage_subscriptions(p("bob"), "bob")
    assert not rules.can_manage_subscriptions(p("bob"), "carol")


def test_publishing_on_behalf_needs_scope():
    assert rules.can_publish_as(p("alice"), "alice")
    assert not rules.can_publish_as(p("alice"), "bob")
    assert rules.can_publish_as(p("wiki", "shares:publish"), "bob")


def test_share_visible_to_author_or_publisher():
    assert rules.can_view_share(p("alice"), "alice")
    assert not rules.can_view_share(p("bob"), "alice")
    assert rules.can_view_share(p("wiki", "shares:publish"), "alice")


def test_only_the_author_sees_whom_a_share_names():
    assert rules.sees_recipients(p("alice"), "alice")
    assert not rules.sees_recipients(p("wiki", "shares:publish"), "alice")


def test_only_recipients_acknowledge_and_only_authors_read_feedback():
    assert learn_rules.can_acknowledge(p("bob"), is_recipient=True)
    assert not learn_rules.can_acknowledge(p("bob"), is_recipient=False)
    assert learn_rules.can_read_feedback(p("alice"), "alice")
    assert not learn_rules.can_read_feedback(p("bob"), "alice")
    assert not learn_rules.can_read_feedback(p("wiki", "shares:publish"), "alice")


def test_only_the_author_and_publishing_systems_see_a_checks_answer_key():
    from datetime import UTC, datetime

    from learnloop_share.api.shares import _as_seen_by
    from learnloop_share.domain.shares import Audience, Share, ShareStatus
    from learnloop_shared.events import CheckItem

    share = Share(
        id="s",
        author_id="alice",
        title="t",
        audience=Audience(users=["bob"]),
        status=ShareStatus.accepted,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        checks=[CheckItem(question="q", choices=("a", "b"), answer=0)],
        has_checks=True,
    )
    for who, scopes, sees in [
        ("alice", (), True),
        ("wiki", ("shares:publish",), True),
        ("bob", (), False),
        ("admin", ("directory:write",), False),
    ]:
        seen = _as_seen_by(p(who, *scopes), share).model_dump(mode="json")
        assert [("answer" in c) for c in seen["checks"]] == [sees], who
