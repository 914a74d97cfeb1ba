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


async def _stream(*lists: list[str]):
    for ids in lists:
        yield ids


async def _collect(stream) -> list[str]:
    return [u async for ids in stream for u in ids]


async def test_merge_sorted_unions_sorted_streams_without_duplicates_or_the_author():
    from learnloop_share.usecases.audience import merge_sorted, rebatch

    merged = merge_sorted([_stream(["a", "c"], ["e"]), _stream(["b", "c", "d"]), _stream([])], exclude="d")
    assert await _collect(merged) == ["a", "b", "c", "e"]
    # One stream whose lists overlap (a page read while it was being split): no repeats.
    assert await _collect(merge_sorted([_stream(["a", "b", "c"], ["b", "c", "d"])], exclude="x")) == list("abcd")
    batches = [ids async for ids in rebatch(_stream(["a", "b", "c"], ["d", "e"]), 2)]
    assert batches == [["a", "b"], ["c", "d"], ["e"]]


def test_pages_are_split_keeping_the_first_bound():
    from learnloop_share.storage.subscribers import PAGE_MAX, PAGE_SPLIT, split_pages

    ids = [f"u{i:05d}" for i in range(PAGE_MAX + 1)]
    pages = split_pages(ids, "")
    assert pages[0][0] == "" and all(lo == p[0] for lo, p in pages[1:])
    assert [u for _, p in pages for u in p] == ids and all(len(p) <= PAGE_SPLIT for _, p in pages)
    assert split_pages(ids[:10], "u") == [("u", ids[:10])]
