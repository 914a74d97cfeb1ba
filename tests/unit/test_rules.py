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
