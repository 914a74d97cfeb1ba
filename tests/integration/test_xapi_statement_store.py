"""The statement store against the real database: reads in read order across the look-back windows of
newest-first reads, paging that returns every statement once, and voided statements that no filter meets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from learnloop_learn.domain.xapi.query import parse_query
from learnloop_learn.domain.xapi.statements import prepare, stored_document
from learnloop_learn.storage.xapi.statements import StatementStore

V = "1.0.3"
AUTH = {"objectType": "Agent", "account": {"homePage": "http://lrs.example.com", "name": "t"}}


async def _store(mongo: Any) -> StatementStore:
    store = StatementStore(mongo[f"xapi_store_{uuid.uuid4().hex[:8]}"])
    await store.ensure_indexes()
    return store


async def _put(store: StatementStore, at: datetime, verb: str = "http://v/x") -> str:
    s = {"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": verb}, "object": {"id": "http://a/1"}}
    doc = stored_document(prepare(s, authority=AUTH, stored=at, version=V), at)
    await store.insert_new([doc])
    return str(doc["_id"])


async def _all_pages(store: StatementStore, items: list[tuple[str, str]]) -> list[str]:
    q = parse_query(items, V)
    seen: list[str] = []
    while True:
        docs = await store.find(q)
        page, more = docs[: q.limit], len(docs) > q.limit
        seen += [d["_id"] for d in page]
        if not more:
            return seen
        q = parse_query(
            [*items, ("cursor", q.more_url("/x", page[-1]["stored"], page[-1]["_id"]).split("cursor=")[1])], V
        )


async def test_newest_first_reads_span_every_window_in_order(mongo: Any) -> None:
    store = await _store(mongo)
    now = datetime.now(UTC).replace(microsecond=0)
    ages = [timedelta(seconds=5), timedelta(minutes=10), timedelta(hours=2), timedelta(days=2), timedelta(days=40)]
    ages += [timedelta(days=400), timedelta(days=400)]  # beyond every window, and a tie in stored
    ids = [await _put(store, now - age) for age in ages]
    newest_first = sorted(zip(ages, ids, strict=True), key=lambda p: (p[0], [-ord(c) for c in p[1]]))
    expected = [i for _, i in newest_first]
    assert [d["_id"] for d in await store.find(parse_query([("limit", "3")], V))][:3] == expected[:3]
    assert await _all_pages(store, [("limit", "2")]) == expected
    assert await _all_pages(store, [("limit", "2"), ("ascending", "true")]) == expected[::-1]
    assert await _all_pages(store, [("limit", "1"), ("verb", "http://v/x")]) == expected
    since = (now - timedelta(days=3)).isoformat()
    assert await _all_pages(store, [("since", since)]) == expected[:4]
    until = (now - timedelta(hours=1)).isoformat()
    assert await _all_pages(store, [("until", until), ("limit", "1")]) == expected[2:]


async def test_a_voided_statement_meets_no_filter(mongo: Any) -> None:
    store = await _store(mongo)
    now = datetime.now(UTC)
    kept, voided = await _put(store, now), await _put(store, now)
    await store.mark_voided([voided])
    assert {d["_id"] for d in await store.find(parse_query([], V))} == {kept}
    assert {d["_id"] for d in await store.find(parse_query([("verb", "http://v/x")], V))} == {kept}
    got = await store.get(voided)
    assert got is not None and got["voided"]


async def test_extreme_since_and_until_are_read_as_given(mongo: Any) -> None:
    store = await _store(mongo)
    sid = await _put(store, datetime.now(UTC))
    assert await store.find(parse_query([("until", "0001-01-01T00:00:00Z")], V)) == []
    got = await store.find(parse_query([("since", "0001-01-01T00:00:00Z"), ("until", "9999-12-31T23:59:59Z")], V))
    assert [d["_id"] for d in got] == [sid]
