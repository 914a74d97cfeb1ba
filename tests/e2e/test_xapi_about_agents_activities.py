"""``/xapi/about``, ``/xapi/activities`` (canonical definitions kept from statements) and ``/xapi/agents``
(the Person), for xAPI 1.0.3 and 2.0.0."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from .test_lrs_credentials import basic, create

VERSIONS = ("1.0.3", "2.0.0")


def _headers(api: Any, version: str) -> dict[str, str]:
    return {**api.auth("lrs-tool", "xapi:read", "xapi:write"), "X-Experience-API-Version": version}


def _statement(actor: dict[str, Any], activity: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "actor": actor,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
        "object": activity,
        **more,
    }


async def test_about_needs_no_version_header_nor_authentication(api) -> None:  # type: ignore[no-untyped-def]
    r = await api.learn.get("/xapi/about")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"]
    assert isinstance(body["extensions"], dict)
    assert r.headers["X-Experience-API-Version"] == "2.0.0"
    r = await api.learn.get("/xapi/about", headers={"X-Experience-API-Version": "1.0.3"})
    assert r.status_code == 200 and r.headers["X-Experience-API-Version"] == "1.0.3"
    # ADL 1.0.3 suite XAPI-00316/00317: to a 1.0.x client, only 1.0.x versions, 1.0.1 among them
    assert r.json()["version"] == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
    r = await api.learn.get("/xapi/about", headers={"X-Experience-API-Version": "2.0.0"})
    assert r.status_code == 200 and "2.0.0" in r.json()["version"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_activity_gets_its_latest_definition_with_merged_names(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    activity_id = f"http://example.com/activities/{uuid.uuid4().hex}"
    r = await api.learn.get("/xapi/activities", params={"activityId": activity_id}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {"objectType": "Activity", "id": activity_id}
    actor = {"mbox": f"mailto:{uuid.uuid4().hex[:8]}@example.com"}
    first = {
        "id": activity_id,
        "definition": {
            "name": {"en-US": "Kafka tips"},
            "description": {"en-US": "How to"},
            "type": "http://adlnet.gov/expapi/activities/lesson",
            "extensions": {"http://example.com/ext.v1": {"a.b": 1}},
        },
    }
    r = await api.learn.post("/xapi/statements", json=_statement(actor, first), headers=h)
    assert r.status_code == 200, r.text
    r = await api.learn.get("/xapi/activities", params={"activityId": activity_id}, headers=h)
    assert r.json() == {"objectType": "Activity", **first}
    second = {
        "id": activity_id,
        "definition": {"name": {"de-DE": "Kafka-Tipps"}, "type": "http://adlnet.gov/expapi/activities/module"},
    }
    parent = {"id": f"{activity_id}/parent", "definition": {"name": {"en-US": "Parent"}}}
    statement = _statement(actor, second, context={"contextActivities": {"parent": [parent]}})
    assert (await api.learn.post("/xapi/statements", json=statement, headers=h)).status_code == 200
    r = await api.learn.get("/xapi/activities", params={"activityId": activity_id}, headers=h)
    definition = r.json()["definition"]
    assert definition["name"] == {"en-US": "Kafka tips", "de-DE": "Kafka-Tipps"}
    assert definition["description"] == {"en-US": "How to"}
    assert definition["type"] == "http://adlnet.gov/expapi/activities/module"
    assert definition["extensions"] == {"http://example.com/ext.v1": {"a.b": 1}}
    r = await api.learn.get("/xapi/activities", params={"activityId": parent["id"]}, headers=h)
    assert r.json()["definition"] == parent["definition"]


async def test_a_writer_without_define_does_not_change_definitions(api) -> None:  # type: ignore[no-untyped-def]
    cred = await create(api, "No define", "statements/write", "statements/read")
    h = {**basic(cred["key"], cred["secret"]), "X-Experience-API-Version": "2.0.0"}
    activity_id = f"http://example.com/activities/{uuid.uuid4().hex}"
    activity = {"id": activity_id, "definition": {"name": {"en-US": "Not kept"}}}
    r = await api.learn.post("/xapi/statements", json=_statement({"mbox": "mailto:x@example.com"}, activity), headers=h)
    assert r.status_code == 200, r.text
    r = await api.learn.get("/xapi/activities", params={"activityId": activity_id}, headers=h)
    assert r.json() == {"objectType": "Activity", "id": activity_id}


@pytest.mark.parametrize("version", VERSIONS)
async def test_agents_answers_the_person(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    mbox = f"mailto:{uuid.uuid4().hex[:8]}@example.com"
    r = await api.learn.get("/xapi/agents", params={"agent": json.dumps({"mbox": mbox})}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {"objectType": "Person", "mbox": [mbox]}
    activity = {"id": f"http://example.com/activities/{uuid.uuid4().hex}"}
    for name in ("Ann", "Ann Smith"):
        r = await api.learn.post("/xapi/statements", json=_statement({"mbox": mbox, "name": name}, activity), headers=h)
        assert r.status_code == 200, r.text
    r = await api.learn.get("/xapi/agents", params={"agent": json.dumps({"mbox": mbox})}, headers=h)
    person = r.json()
    assert person["objectType"] == "Person" and person["mbox"] == [mbox]
    assert sorted(person["name"]) == ["Ann", "Ann Smith"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_bad_parameters_are_400(api, version) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, version)
    for path, params in (
        ("/xapi/activities", {}),
        ("/xapi/activities", {"activityId": "no iri"}),
        ("/xapi/agents", {}),
        ("/xapi/agents", {"agent": "{"}),
        ("/xapi/agents", {"agent": json.dumps({"name": "nobody"})}),
        ("/xapi/activities", {"activityId": "http://example.com/a", "foo": "bar"}),
        ("/xapi/agents", {"Agent": json.dumps({"mbox": "mailto:a@example.com"})}),
    ):
        r = await api.learn.get(path, params=params, headers=h)
        assert r.status_code == 400, (path, params, r.text)
        assert r.headers["X-Experience-API-Version"] == version
    r = await api.learn.get("/xapi/activities", params={"activityId": "http://example.com/a"}, headers=api.auth("x"))
    assert r.status_code == 400  # no version header


async def test_other_methods_are_405(api) -> None:  # type: ignore[no-untyped-def]
    h = _headers(api, "1.0.3")
    for path, params in (
        ("/xapi/activities", {"activityId": "http://example.com/a"}),
        ("/xapi/agents", {"agent": json.dumps({"mbox": "mailto:a@example.com"})}),
    ):
        for method in ("POST", "PUT", "DELETE"):
            r = await api.learn.request(method, path, params=params, headers=h)
            assert r.status_code == 405, (method, path)
            r = await api.learn.request(method, path, params=params)  # before authentication
            assert r.status_code == 405, (method, path)


async def test_head_answers_like_get_without_a_body(api) -> None:  # type: ignore[no-untyped-def]
    r = await api.learn.head("/xapi/about")
    assert r.status_code == 200 and r.content == b"" and r.headers["X-Experience-API-Version"] == "2.0.0"
    h = _headers(api, "1.0.3")
    for path, params in (
        ("/xapi/activities", {"activityId": "http://example.com/a"}),
        ("/xapi/agents", {"agent": json.dumps({"mbox": "mailto:a@example.com"})}),
    ):
        r = await api.learn.head(path, params=params, headers=h)
        assert r.status_code == 200 and r.content == b"", path
        assert r.headers["content-type"] == "application/json"
        assert (await api.learn.head(path, params={}, headers=h)).status_code == 400
