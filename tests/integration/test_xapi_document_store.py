"""The LRS's document store against the real database: one document per key, compare-and-set writes,
lists with ``since``, delete-all by key, and activity definitions merged in the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from learnloop_learn.domain.xapi.documents import DocumentKey, etag
from learnloop_learn.storage.xapi.documents import DocumentStore

AT = datetime(2026, 1, 1, tzinfo=UTC)
ACTIVITY, AGENT = "http://example.com/a", "mbox|mailto:a@example.com"


def state(doc_id: str | None, registration: str | None = None) -> DocumentKey:
    return DocumentKey("state", ACTIVITY, AGENT, registration, doc_id)


async def test_one_document_per_key_and_compare_and_set(mongo, unique):
    store = DocumentStore(mongo[f"xdocs_{unique}"])
    await store.ensure_indexes()
    key = state("s")
    created = await asyncio.gather(*(store.create(key, b"x", "text/plain", etag(b"x"), AT) for _ in range(5)))
    assert sorted(created) == [False] * 4 + [True]  # the unique index lets one of the racing creators win
    doc = await store.get(key)
    assert doc is not None and doc["content"] == b"x" and doc["etag"] == etag(b"x")
    assert not await store.replace(key, etag(b"other"), b"y", "text/plain", etag(b"y"), AT)
    assert await store.replace(key, etag(b"x"), b"y", "text/plain", etag(b"y"), AT)
    assert not await store.replace(key, etag(b"x"), b"z", "text/plain", etag(b"z"), AT)  # it changed meanwhile
    assert not await store.delete(key, etag(b"x"))
    assert await store.delete(key, etag(b"y"))
    assert await store.get(key) is None


async def test_lists_since_and_delete_all_by_registration(mongo, unique):
    store = DocumentStore(mongo[f"xdocs_{unique}"])
    await store.ensure_indexes()
    reg = "6b9c3e4a-1f2d-4c5b-8a7e-9d0c1b2a3f4e"
    await store.create(state("old"), b"1", "text/plain", etag(b"1"), AT)
    await store.create(state("new"), b"2", "text/plain", etag(b"2"), AT + timedelta(hours=1))
    await store.create(state("reg", reg), b"3", "text/plain", etag(b"3"), AT + timedelta(hours=1))
    await store.create(DocumentKey("activity_profile", ACTIVITY, None, None, "p"), b"4", "text/plain", etag(b"4"), AT)
    assert await store.ids(state(None), None) == ["new", "old", "reg"]
    assert await store.ids(state(None), AT + timedelta(minutes=30)) == ["new", "reg"]
    assert await store.ids(state(None, reg), None) == ["reg"]
    assert await store.get(state("reg")) is None  # without a registration: the one stored without one
    assert await store.delete_all(state(None, reg)) == 1
    assert await store.delete_all(state(None)) == 2
    assert await store.ids(DocumentKey("activity_profile", ACTIVITY, None, None, None), None) == ["p"]


async def test_definitions_merge_language_maps_in_the_database(mongo, unique):
    store = DocumentStore(mongo[f"xdocs_{unique}"])
    first = {"name": {"en-US": "A"}, "type": "http://e.com/t1", "extensions": {"http://e.com/x.y": {"$k": 1}}}
    await store.keep_definitions([("http://e.com/a", first)], AT)
    second = {"name": {"de-DE": "A-de"}, "description": {"en-US": "D"}, "type": "http://e.com/t2"}
    await store.keep_definitions([("http://e.com/a", second), ("http://e.com/b", {"type": "http://e.com/t"})], AT)
    doc = await store.activity("http://e.com/a")
    assert doc is not None
    assert doc["definition"] == {
        "name": {"en-US": "A", "de-DE": "A-de"},
        "description": {"en-US": "D"},
        "type": "http://e.com/t2",
        "extensions": {"http://e.com/x.y": {"$k": 1}},
    }
    other = await store.activity("http://e.com/b")
    assert other is not None and other["definition"] == {"type": "http://e.com/t"}
