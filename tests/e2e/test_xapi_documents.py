"""The LRS's document resources over real sockets, for xAPI 1.0.3 and 2.0.0 (Communication part, Document
Resources and Concurrency; the ADL conformance suite's document tests): State, Activity Profile, Agent Profile.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

VERSIONS = ("1.0.3", "2.0.0")
STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"
CREATE = {"If-None-Match": "*"}  # a profile PUT in 1.0.3 needs a precondition even to create


def _headers(api: Any, version: str, **extra: str) -> dict[str, str]:
    return {**api.auth("lrs-tool", "xapi:read", "xapi:write"), "X-Experience-API-Version": version, **extra}


def _agent() -> dict[str, Any]:
    return {"objectType": "Agent", "mbox": f"mailto:{uuid.uuid4().hex[:10]}@example.com"}


def _activity() -> str:
    return f"http://example.com/activities/{uuid.uuid4().hex}"


def _state(**more: str) -> dict[str, str]:
    return {"activityId": _activity(), "agent": json.dumps(_agent()), "stateId": uuid.uuid4().hex, **more}


def _resources() -> list[tuple[str, dict[str, str], str]]:
    """(path, parameters of one document, the name of its id parameter)."""
    return [
        (STATE, _state(), "stateId"),
        (ACTIVITY_PROFILE, {"activityId": _activity(), "profileId": uuid.uuid4().hex}, "profileId"),
        (AGENT_PROFILE, {"agent": json.dumps(_agent()), "profileId": uuid.uuid4().hex}, "profileId"),
    ]


def _etag(content: bytes) -> str:
    return '"' + hashlib.sha1(content).hexdigest() + '"'


@pytest.mark.parametrize("version", VERSIONS)
async def test_put_get_head_delete_each_resource(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    for path, params, _ in _resources():
        doc = {"score": 3, "name": "x"}
        r = await api.learn.put(path, params=params, json=doc, headers={**h, **CREATE})
        assert r.status_code == 204, (path, r.text)
        assert r.headers["X-Experience-API-Version"] == version
        r = await api.learn.get(path, params=params, headers=h)
        assert r.status_code == 200, r.text
        assert r.json() == doc
        assert r.headers["content-type"].startswith("application/json")
        tag = r.headers["ETag"]
        assert tag == _etag(r.content)
        assert r.headers["Last-Modified"].endswith("GMT")
        r = await api.learn.head(path, params=params, headers=h)
        assert r.status_code == 200 and r.content == b""
        assert r.headers["ETag"] == tag
        r = await api.learn.delete(path, params=params, headers=h)
        assert r.status_code == 204, r.text
        r = await api.learn.get(path, params=params, headers=h)
        assert r.status_code == 404
        assert r.headers["X-Experience-API-Version"] == version


@pytest.mark.parametrize("version", VERSIONS)
async def test_any_content_type_is_stored_as_bytes(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    for path, params, _ in _resources():
        content = bytes(range(256)) * 4
        r = await api.learn.put(
            path, params=params, content=content, headers={**h, **CREATE, "Content-Type": "application/octet-stream"}
        )
        assert r.status_code == 204, r.text
        r = await api.learn.get(path, params=params, headers=h)
        assert r.content == content
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["ETag"] == _etag(content)
    for path, params2, _ in _resources():
        r = await api.learn.put(
            path, params=params2, content="héllo", headers={**h, **CREATE, "Content-Type": "text/plain"}
        )
        assert r.status_code == 204
        r = await api.learn.get(path, params=params2, headers=h)
        assert r.text == "héllo" and r.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("version", VERSIONS)
async def test_post_merges_json_objects_one_level_deep(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    for path, params, _ in _resources():
        first = {"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale", "keep": 1}
        second = {"car": {"make": "Dodge"}, "driver": "Jeff"}
        assert (await api.learn.post(path, params=params, json=first, headers=h)).status_code == 204
        r = await api.learn.post(path, params=params, json=second, headers=h)
        assert r.status_code == 204, r.text
        r = await api.learn.get(path, params=params, headers=h)
        assert r.json() == {"car": {"make": "Dodge"}, "driver": "Jeff", "keep": 1}


@pytest.mark.parametrize("version", VERSIONS)
async def test_post_refuses_what_is_not_a_json_object(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    for path, params, id_name in _resources():
        r = await api.learn.post(path, params=params, json=[1, 2], headers=h)
        assert r.status_code == 400, r.text
        r = await api.learn.post(path, params=params, content="not json", headers={**h, "Content-Type": "text/plain"})
        assert r.status_code == 400
        r = await api.learn.post(path, params=params, content="{bad", headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 400
        # a stored document that is not JSON cannot be merged into
        other = dict(params, **{id_name: params[id_name] + "-bin"})
        r = await api.learn.put(
            path, params=other, content=b"\x00\x01", headers={**h, **CREATE, "Content-Type": "image/png"}
        )
        assert r.status_code == 204
        r = await api.learn.post(path, params=other, json={"a": 1}, headers=h)
        assert r.status_code == 400
        assert (await api.learn.get(path, params=other, headers=h)).content == b"\x00\x01"
        # and a PUT announced as JSON must be JSON
        r = await api.learn.put(path, params=params, content="{bad", headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 400


@pytest.mark.parametrize("version", VERSIONS)
async def test_if_match_and_if_none_match(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    for path, params, _ in _resources():
        # If-None-Match: * creates only when absent; If-Match on an absent document fails
        r = await api.learn.put(path, params=params, json={"v": 0}, headers={**h, "If-Match": '"' + "0" * 40 + '"'})
        assert r.status_code == 412
        r = await api.learn.put(path, params=params, json={"v": 1}, headers={**h, "If-None-Match": "*"})
        assert r.status_code == 204, r.text
        r = await api.learn.put(path, params=params, json={"v": 2}, headers={**h, "If-None-Match": "*"})
        assert r.status_code == 412
        tag = (await api.learn.get(path, params=params, headers=h)).headers["ETag"]
        for method in ("PUT", "POST"):
            r = await api.learn.request(method, path, params=params, json={"v": 9}, headers={**h, "If-Match": "1234"})
            assert r.status_code == 412, method
        r = await api.learn.delete(path, params=params, headers={**h, "If-Match": '"1234"'})
        assert r.status_code == 412
        assert (await api.learn.get(path, params=params, headers=h)).json() == {"v": 1}
        r = await api.learn.put(path, params=params, json={"v": 3}, headers={**h, "If-Match": tag})
        assert r.status_code == 204, r.text
        written = r.headers["ETag"]
        r = await api.learn.get(path, params=params, headers=h)
        assert r.json() == {"v": 3} and r.headers["ETag"] != tag
        new_tag = r.headers["ETag"]
        assert new_tag == written
        r = await api.learn.put(path, params=params, json={"v": 4}, headers={**h, "If-Match": tag})
        assert r.status_code == 412  # the old tag no longer matches
        r = await api.learn.post(path, params=params, json={"w": 1}, headers={**h, "If-Match": new_tag})
        assert r.status_code == 204
        r = await api.learn.get(path, params=params, headers=h)
        assert r.json() == {"v": 3, "w": 1}
        r = await api.learn.delete(path, params=params, headers={**h, "If-Match": r.headers["ETag"]})
        assert r.status_code == 204
        assert (await api.learn.get(path, params=params, headers=h)).status_code == 404


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_blind_overwrite_is_409_where_the_spec_says(api, version) -> None:  # type: ignore[no-untyped-def]
    """1.0.3: the profile resources require If-Match/If-None-Match to overwrite; 2.0.0: State too."""
    h = _headers(api, version)
    for path, params, _ in _resources():
        assert (await api.learn.put(path, params=params, json={"v": 1}, headers={**h, **CREATE})).status_code == 204
        r = await api.learn.put(path, params=params, json={"v": 2}, headers=h)
        if path == STATE and version == "1.0.3":
            assert r.status_code == 204
            assert (await api.learn.get(path, params=params, headers=h)).json() == {"v": 2}
        else:
            assert r.status_code == 409, (path, r.text)
            assert r.json()["detail"]
            assert (await api.learn.get(path, params=params, headers=h)).json() == {"v": 1}
        # POST merges without a precondition in both versions
        assert (await api.learn.post(path, params=params, json={"w": 1}, headers=h)).status_code == 204


@pytest.mark.parametrize("version", VERSIONS)
async def test_lists_of_ids_and_since(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    activity, agent = _activity(), json.dumps(_agent())
    cases = [
        (STATE, {"activityId": activity, "agent": agent}, "stateId"),
        (ACTIVITY_PROFILE, {"activityId": activity}, "profileId"),
        (AGENT_PROFILE, {"agent": agent}, "profileId"),
    ]
    for path, base, id_name in cases:
        r = await api.learn.get(path, params=base, headers=h)
        assert r.status_code == 200 and r.json() == []
        for doc_id in ("a", "b"):
            r = await api.learn.put(
                path, params={**base, id_name: doc_id}, json={"id": doc_id}, headers={**h, **CREATE}
            )
            assert r.status_code == 204
        r = await api.learn.get(path, params=base, headers=h)
        assert sorted(r.json()) == ["a", "b"]
        later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
        assert (await api.learn.get(path, params={**base, "since": later}, headers=h)).json() == []
        assert sorted((await api.learn.get(path, params={**base, "since": earlier}, headers=h)).json()) == ["a", "b"]
        r = await api.learn.get(path, params={**base, "since": "yesterday"}, headers=h)
        assert r.status_code == 400


@pytest.mark.parametrize("version", VERSIONS)
async def test_state_by_registration_and_delete_all(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    base = {"activityId": _activity(), "agent": json.dumps(_agent())}
    reg = str(uuid.uuid4())
    for params in ({**base, "stateId": "s"}, {**base, "stateId": "s", "registration": reg}):
        assert (await api.learn.put(STATE, params=params, json=params, headers=h)).status_code == 204
    assert (await api.learn.get(STATE, params={**base, "stateId": "s"}, headers=h)).json() == {**base, "stateId": "s"}
    r = await api.learn.get(STATE, params={**base, "stateId": "s", "registration": reg.upper()}, headers=h)
    assert r.json()["registration"] == reg
    assert (await api.learn.get(STATE, params={**base, "registration": reg}, headers=h)).json() == ["s"]
    # DELETE without stateId: every document of the activity and agent (of the registration, when given)
    r = await api.learn.delete(STATE, params={**base, "registration": reg}, headers=h)
    assert r.status_code == 204
    assert (await api.learn.get(STATE, params={**base, "stateId": "s"}, headers=h)).status_code == 200
    assert (await api.learn.delete(STATE, params=base, headers=h)).status_code == 204
    assert (await api.learn.get(STATE, params=base, headers=h)).json() == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_agent_is_known_by_its_identifier(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    mbox = f"mailto:{uuid.uuid4().hex[:10]}@example.com"
    first = {"agent": json.dumps({"mbox": mbox, "name": "Ann"}), "profileId": "p"}
    again = {"agent": json.dumps({"objectType": "Agent", "mbox": mbox}), "profileId": "p"}
    assert (await api.learn.put(AGENT_PROFILE, params=first, json={"a": 1}, headers={**h, **CREATE})).status_code == 204
    assert (await api.learn.get(AGENT_PROFILE, params=again, headers=h)).json() == {"a": 1}


@pytest.mark.parametrize("version", VERSIONS)
async def test_bad_requests_are_400(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    state = _state()
    bad: list[tuple[str, str, dict[str, str]]] = [
        ("PUT", STATE, {k: v for k, v in state.items() if k != "activityId"}),
        ("PUT", STATE, {k: v for k, v in state.items() if k != "agent"}),
        ("PUT", STATE, {k: v for k, v in state.items() if k != "stateId"}),
        ("POST", STATE, {k: v for k, v in state.items() if k != "stateId"}),
        ("PUT", STATE, {**state, "agent": "{not json"}),
        ("PUT", STATE, {**state, "agent": json.dumps({"name": "no identifier"})}),
        ("PUT", STATE, {**state, "agent": json.dumps({"objectType": "Group", "member": []})}),
        ("PUT", STATE, {**state, "registration": "not-a-uuid"}),
        ("PUT", STATE, {**state, "activityId": "not an iri"}),
        ("GET", STATE, {k: v for k, v in state.items() if k != "agent"}),
        ("GET", ACTIVITY_PROFILE, {"profileId": "p"}),
        ("PUT", ACTIVITY_PROFILE, {"activityId": _activity()}),
        ("DELETE", ACTIVITY_PROFILE, {"activityId": _activity()}),
        ("GET", AGENT_PROFILE, {"profileId": "p"}),
        ("DELETE", AGENT_PROFILE, {"agent": json.dumps(_agent())}),
        ("GET", AGENT_PROFILE, {"agent": json.dumps(_agent()), "since": "soon"}),
        # parameters are case-sensitive, and unknown ones are refused
        ("GET", STATE, {**{k: v for k, v in state.items() if k != "stateId"}, "StateId": "x"}),
        ("PUT", STATE, {**state, "since": "2026-01-01T00:00:00Z"}),
        ("GET", ACTIVITY_PROFILE, {"activityId": _activity(), "foo": "bar"}),
        ("DELETE", AGENT_PROFILE, {"agent": json.dumps(_agent()), "profileId": "p", "Agent": "x"}),
    ]
    for method, path, params in bad:
        r = await api.learn.request(method, path, params=params, json={"a": 1}, headers=h)
        assert r.status_code == 400, (method, path, params, r.text)
        assert r.json()["detail"]
        assert r.headers["X-Experience-API-Version"] == version
    no_version = {k: v for k, v in h.items() if k != "X-Experience-API-Version"}
    r = await api.learn.get(STATE, params=state, headers=no_version)
    assert r.status_code == 400


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_document_over_the_limit_is_413(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    params = _state()
    r = await api.learn.put(STATE, params=params, content=b"x" * 1_000_001, headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 413, r.text
    assert (await api.learn.get(STATE, params=params, headers=h)).status_code == 404


async def test_concurrent_merges_lose_nothing(api) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, "2.0.0")
    params = _state()

    async def post(i: int) -> int:
        r = await api.learn.post(STATE, params=params, json={f"k{i}": i}, headers=h)
        return r.status_code

    statuses = await asyncio.gather(*(post(i) for i in range(8)))
    assert all(s in (204, 409) for s in statuses)
    r = await api.learn.get(STATE, params=params, headers=h)
    assert r.json() == {f"k{i}": i for i, s in enumerate(statuses) if s == 204}


@pytest.mark.parametrize("version", VERSIONS)
async def test_creating_a_profile_needs_a_precondition_in_1_0_3(api, version) -> None:  # type: ignore[no-untyped-def]
    """The ADL suite for 1.0.3 (XAPI-00273, and the Activity Profile's "fails without ETag header"): a profile
    PUT without If-Match/If-None-Match is 400 even when it creates; State, and 2.0.0, create without one."""
    h = _headers(api, version)
    for path, params, _ in _resources():
        r = await api.learn.put(path, params=params, json={"a": 1}, headers=h)
        refused = path != STATE and version == "1.0.3"
        assert r.status_code == (400 if refused else 204), (path, r.text)
        assert (await api.learn.get(path, params=params, headers=h)).status_code == (404 if refused else 200)
