"""The pure rules of the xAPI document resources: ETags, preconditions, merging, parameters; activity
definitions found in statements; the credential scope names."""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime

import pytest
from learnloop_learn.domain.xapi import documents as d
from learnloop_learn.domain.xapi.activities import definitions, latest_definitions, merge_definition
from learnloop_learn.domain.xapi.credentials import XapiScope
from learnloop_learn.domain.xapi.errors import XapiError
from learnloop_learn.domain.xapi.scopes import XAPI_SCOPES

TAG = d.etag(b"{}")


def test_the_etag_is_the_quoted_sha1_of_the_content() -> None:
    assert TAG == '"bf21a9e8fbc5a3846fb05b4fa0859e0917b2202f"'
    assert len(TAG) == 42 and TAG[0] == TAG[41] == '"'


@pytest.mark.parametrize(
    ("current", "if_match", "if_none_match", "require", "status"),
    [
        (None, None, None, True, None),  # creating needs no header
        (TAG, None, None, False, None),  # a blind overwrite where none is required
        (TAG, None, None, True, 409),
        (TAG, TAG, None, True, None),
        (TAG, TAG.strip('"'), None, True, None),  # unquoted, as some clients send it
        (TAG, f'W/{TAG}, "other"', None, True, None),
        (TAG, "*", None, True, None),
        (None, "*", None, True, 412),
        (None, TAG, None, False, 412),
        (TAG, '"1234"', None, True, 412),
        (TAG, None, "*", True, 412),
        (None, None, "*", True, None),
        (TAG, None, '"other"', True, None),
        (TAG, None, TAG, True, 412),
    ],
)
def test_preconditions(
    current: str | None, if_match: str | None, if_none_match: str | None, require: bool, status: int | None
) -> None:
    if status is None:
        d.check_preconditions(current, if_match, if_none_match, require_header=require)
    else:
        with pytest.raises(XapiError) as exc:
            d.check_preconditions(current, if_match, if_none_match, require_header=require)
        assert exc.value.status == status


def test_creating_without_a_header_is_400_where_required() -> None:
    d.check_preconditions(None, None, "*", require_header=True, require_header_to_create=True)
    d.check_preconditions(TAG, TAG, None, require_header=True, require_header_to_create=True)
    with pytest.raises(XapiError) as exc:
        d.check_preconditions(None, None, None, require_header=True, require_header_to_create=True)
    assert exc.value.status == 400
    assert d.blind_create_refused("agent_profile", "1.0.3")
    assert not d.blind_create_refused("agent_profile", "2.0.0")
    assert d.blind_create_refused("activity_profile", "1.0.3")
    assert not d.blind_create_refused("activity_profile", "2.0.0")
    assert not d.blind_create_refused("state", "1.0.3")


def test_which_blind_puts_conflict() -> None:
    assert not d.blind_put_conflicts("state", "1.0.3")
    assert d.blind_put_conflicts("state", "2.0.0")
    for kind in ("activity_profile", "agent_profile"):
        assert d.blind_put_conflicts(kind, "1.0.3") and d.blind_put_conflicts(kind, "2.0.0")  # type: ignore[arg-type]


def test_merge_is_top_level() -> None:
    stored = json.dumps({"a": {"x": 1, "y": 2}, "b": 1}).encode()
    out = d.merged(stored, "application/json", b'{"a": {"x": 3}, "c": 4}', "application/json; charset=utf-8")
    assert json.loads(out) == {"a": {"x": 3}, "b": 1, "c": 4}
    assert json.loads(d.merged(None, None, b'{"a": 1}', "application/json")) == {"a": 1}


@pytest.mark.parametrize(
    ("stored", "stored_type", "posted", "posted_type"),
    [
        (None, None, b"[1]", "application/json"),
        (None, None, b'{"a": 1}', "text/plain"),
        (None, None, b"{", "application/json"),
        (b"abc", "text/plain", b'{"a": 1}', "application/json"),
        (b"[1]", "application/json", b'{"a": 1}', "application/json"),
    ],
)
def test_merge_refuses_what_is_not_a_json_object(
    stored: bytes | None, stored_type: str | None, posted: bytes, posted_type: str
) -> None:
    with pytest.raises(XapiError) as exc:
        d.merged(stored, stored_type, posted, posted_type)
    assert exc.value.status == 400


def test_parameters() -> None:
    agent, key = d.agent_param('{"mbox": "mailto:a@example.com"}', "2.0.0")
    assert key == "mbox|mailto:a@example.com" and agent["mbox"] == "mailto:a@example.com"
    _, key = d.agent_param('{"objectType": "Group", "mbox": "mailto:g@example.com"}', "2.0.0")
    assert key == "mbox|mailto:g@example.com"  # an identified Group
    assert d.registration_param("6B9C3E4A-1F2D-4C5B-8A7E-9D0C1B2A3F4E") == "6b9c3e4a-1f2d-4c5b-8a7e-9d0c1b2a3f4e"
    assert d.since_param("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert d.since_param("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert d.since_param(None) is None
    d.check_parameters(["activityId", "agent", "registration", "stateId", "since"], "state", read=True)
    d.check_parameters(["agent", "profileId"], "agent_profile", read=False)
    assert d.id_param(None, "stateId", required=False) is None
    assert d.http_date(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "Fri, 02 Jan 2026 03:04:05 GMT"
    for call in (
        lambda: d.agent_param(None, "2.0.0"),
        lambda: d.agent_param("{", "2.0.0"),
        lambda: d.agent_param('{"name": "x"}', "2.0.0"),
        lambda: d.agent_param('{"objectType": "Group", "member": [{"mbox": "mailto:m@example.com"}]}', "2.0.0"),
        lambda: d.agent_param('{"objectType": "Activity", "id": "http://e.com/a"}', "2.0.0"),
        lambda: d.activity_param(None),
        lambda: d.activity_param("x" * (d.MAX_PARAM_CHARS + 1)),
        lambda: d.registration_param("nope"),
        lambda: d.since_param("tomorrow"),
        lambda: d.id_param(None, "stateId", required=True),
        lambda: d.id_param("", "stateId", required=False),
        lambda: d.id_param("x" * (d.MAX_ID_CHARS + 1), "stateId", required=True),
        lambda: d.check_parameters(["activityId", "StateId"], "state", read=True),
        lambda: d.check_parameters(["activityId", "since"], "activity_profile", read=False),
        lambda: d.only_parameters(["foo"], ["agent"]),
    ):
        with pytest.raises(XapiError) as exc:
            call()
        assert exc.value.status == 400


def test_definitions_come_from_objects_context_activities_and_substatements() -> None:
    defined = {"id": "http://e.com/a", "definition": {"name": {"en": "A"}}}
    statement = {
        "object": {
            "objectType": "SubStatement",
            "object": {"id": "http://e.com/sub", "definition": {"type": "http://e.com/t"}},
        },
        "context": {
            "contextActivities": {"parent": [defined, {"id": "http://e.com/bare"}], "grouping": defined},
        },
    }
    plain = {"object": {"id": "http://e.com/b", "definition": {"description": {"en": "B"}}}}
    agent_object = {"object": {"objectType": "Agent", "mbox": "mailto:a@e.com"}}
    found = definitions([statement, plain, agent_object])
    assert [a for a, _ in found] == ["http://e.com/sub", "http://e.com/a", "http://e.com/a", "http://e.com/b"]


def test_credential_scope_names_are_the_xapi_scopes() -> None:
    assert set(typing.get_args(XapiScope)) == XAPI_SCOPES


def test_definitions_merge_language_maps_and_replace_the_rest() -> None:
    old = {"name": {"en": "A", "de": "A-de"}, "type": "http://e.com/t1", "moreInfo": "http://e.com/m"}
    new = {"name": {"en": "A2"}, "description": {"en": "D"}, "type": "http://e.com/t2"}
    assert merge_definition(old, new) == {
        "name": {"en": "A2", "de": "A-de"},
        "description": {"en": "D"},
        "type": "http://e.com/t2",
        "moreInfo": "http://e.com/m",
    }
    statements = [
        {"object": {"id": "http://e.com/a", "definition": {"name": {"en": "A"}}}},
        {"object": {"id": "http://e.com/a", "definition": {"name": {"fr": "A-fr"}}}},
    ]
    assert latest_definitions(statements) == {"http://e.com/a": {"name": {"en": "A", "fr": "A-fr"}}}


class _RacingStore:
    """A fake ``DocumentStore`` whose compare-and-set loses ``losses`` times (another writer got there first)."""

    def __init__(self, losses: int) -> None:
        self.doc: dict[str, object] | None = {"content": b'{"a":1}', "content_type": "application/json", "etag": TAG}
        self.losses = losses
        self.writes = 0

    async def get(self, key: object) -> dict[str, object] | None:
        return None if self.doc is None else dict(self.doc)

    async def replace(
        self, key: object, expected: str, content: bytes, content_type: str, tag: str, now: object
    ) -> bool:
        if self.losses:
            self.losses -= 1
            return False
        assert self.doc is not None and expected == self.doc["etag"]
        self.doc = {"content": content, "content_type": content_type, "etag": tag}
        self.writes += 1
        return True


async def _merge(store: _RacingStore) -> None:
    from learnloop_learn.usecases.xapi.documents import Documents

    documents = Documents(store, max_bytes=1000)  # type: ignore[arg-type]
    key = d.DocumentKey("state", "http://e.com/a", "mbox|mailto:a@e.com", None, "s")
    await documents.write(
        key, b'{"b":2}', "application/json", merge=True, if_match=None, if_none_match=None, version="2.0.0"
    )


async def test_a_write_that_loses_a_race_reads_again_and_merges() -> None:
    store = _RacingStore(losses=2)
    await _merge(store)
    assert store.writes == 1 and store.doc is not None
    assert json.loads(store.doc["content"]) == {"a": 1, "b": 2}  # type: ignore[arg-type]


async def test_a_write_that_keeps_losing_is_409() -> None:
    store = _RacingStore(losses=100)
    with pytest.raises(XapiError) as exc:
        await _merge(store)
    assert exc.value.status == 409 and store.writes == 0


async def test_a_document_over_the_limit_is_413() -> None:
    from learnloop_learn.usecases.xapi.documents import Documents

    documents = Documents(_RacingStore(losses=0), max_bytes=10)  # type: ignore[arg-type]
    key = d.DocumentKey("state", "http://e.com/a", "mbox|mailto:a@e.com", None, "s")
    for merge in (False, True):
        with pytest.raises(XapiError) as exc:
            await documents.write(
                key,
                b'{"bb":"x"}' * 2,
                "application/json",
                merge=merge,
                if_match=None,
                if_none_match=None,
                version="1.0.3",
            )
        assert exc.value.status == 413
