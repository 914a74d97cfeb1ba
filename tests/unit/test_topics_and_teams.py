import pytest
from learnloop_share.domain.teams import find_cycle
from learnloop_share.domain.topics import matching_subscriptions, normalize_topic, wildcard_prefix


def test_topic_normalized_to_lowercase():
    assert normalize_topic(" Kafka.Streams ") == "kafka.streams"


@pytest.mark.parametrize("bad", ["", ".kafka", "kafka.", "kafka..x", "kafka*", "ka fka", "*", "kafka.*.x", "x" * 200])
def test_invalid_topics_rejected(bad):
    with pytest.raises(ValueError):
        normalize_topic(bad)


def test_wildcard_topic_accepted():
    assert normalize_topic("kafka.*") == "kafka.*"
    assert wildcard_prefix("kafka.*") == "kafka."
    assert wildcard_prefix("kafka") is None


def test_subscriptions_matching_a_topic_include_prefix_wildcards():
    assert matching_subscriptions("kafka") == ["kafka"]
    assert matching_subscriptions("kafka.streams.tuning") == ["kafka.streams.tuning", "kafka.*", "kafka.streams.*"]


def test_no_cycle_in_a_tree():
    graph = {"eng": ["platform", "web"], "platform": ["sre"]}
    assert find_cycle("sre", ["oncall"], graph) is None


def test_cycle_detected_through_nested_teams():
    graph = {"eng": ["platform"], "platform": ["sre"]}
    assert find_cycle("sre", ["eng"], graph) == ["sre", "eng", "platform", "sre"]


def test_team_containing_itself_is_a_cycle():
    assert find_cycle("a", ["a"], {}) == ["a", "a"]
