"""LRS credentials: created, listed and revoked by an ``lrs:admin``, used as HTTP Basic on ``/xapi/``."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from ..helpers import eventually

V = {"X-Experience-API-Version": "1.0.3"}


def basic(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


async def create(api: Any, name: str, *scopes: str) -> dict[str, Any]:
    r = await api.learn.post(
        "/v1/lrs/credentials", json={"name": name, "scopes": list(scopes)}, headers=api.auth("admin", "lrs:admin")
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_create_use_list_and_revoke(api) -> None:  # type: ignore[no-untyped-def]
    name = f"Tool {uuid.uuid4().hex[:6]}"
    cred = await create(api, name, "state", "define")
    assert set(cred) == {"key", "secret", "name", "scopes"}
    assert cred["name"] == name and sorted(cred["scopes"]) == ["define", "state"]
    h = {**basic(cred["key"], cred["secret"]), **V}
    params = {
        "activityId": f"http://example.com/a/{uuid.uuid4().hex}",
        "agent": json.dumps({"mbox": "mailto:cred@example.com"}),
        "stateId": "s",
    }
    assert (await api.learn.put("/xapi/activities/state", params=params, json={"a": 1}, headers=h)).status_code == 204
    assert (await api.learn.get("/xapi/activities/state", params=params, headers=h)).json() == {"a": 1}
    # the credential's scopes bound it: no profiles, no statements
    r = await api.learn.get("/xapi/activities/profile", params={"activityId": params["activityId"]}, headers=h)
    assert r.status_code == 403
    wrong = {**basic(cred["key"], "not-the-secret"), **V}
    assert (await api.learn.get("/xapi/activities/state", params=params, headers=wrong)).status_code == 401

    r = await api.learn.get("/v1/lrs/credentials", headers=api.auth("admin", "lrs:admin"))
    assert r.status_code == 200
    listed = [c for c in r.json()["items"] if c["key"] == cred["key"]]
    assert len(listed) == 1
    assert set(listed[0]) == {"key", "name", "scopes", "created_at", "created_by"}
    assert listed[0]["created_by"] == "admin" and listed[0]["name"] == name
    assert "secret" not in r.text.lower() or cred["secret"] not in r.text

    r = await api.learn.delete(f"/v1/lrs/credentials/{cred['key']}", headers=api.auth("admin", "lrs:admin"))
    assert r.status_code == 204
    r = await api.learn.delete(f"/v1/lrs/credentials/{cred['key']}", headers=api.auth("admin", "lrs:admin"))
    assert r.status_code == 404

    async def refused() -> bool:  # the verification cache holds a credential for at most a second
        r = await api.learn.get("/xapi/activities/state", params=params, headers=h)
        return r.status_code == 401

    await eventually(refused, timeout=5)


async def test_bad_bodies_are_422_and_only_admins_may(api) -> None:  # type: ignore[no-untyped-def]
    admin = api.auth("admin", "lrs:admin")
    for body in (
        {"name": "x", "scopes": ["statements/delete"]},
        {"name": "x", "scopes": []},
        {"name": "", "scopes": ["all"]},
        {"name": "x" * 201, "scopes": ["all"]},
        {"name": "x", "scopes": ["all"] * 9},
        {"name": "x"},
        {"scopes": ["all"]},
        {"name": "x", "scopes": ["all"], "secret": "mine"},
    ):
        r = await api.learn.post("/v1/lrs/credentials", json=body, headers=admin)
        assert r.status_code == 422, body
        assert r.headers["content-type"] == "application/problem+json"
    for headers, status in ((api.auth("someone"), 403), (api.auth("w", "xapi:write"), 403), ({}, 401)):
        r = await api.learn.post("/v1/lrs/credentials", json={"name": "x", "scopes": ["all"]}, headers=headers)
        assert r.status_code == status
        assert (await api.learn.get("/v1/lrs/credentials", headers=headers)).status_code == status
        assert (await api.learn.delete("/v1/lrs/credentials/abc", headers=headers)).status_code == status


async def test_every_xapi_scope_name_is_accepted(api) -> None:  # type: ignore[no-untyped-def]
    scopes = ["statements/write", "statements/read/mine", "statements/read", "state", "define", "profile", "all/read"]
    cred = await create(api, "All the names", *scopes)
    assert sorted(cred["scopes"]) == sorted(scopes)
    r = await api.learn.delete(f"/v1/lrs/credentials/{cred['key']}", headers=api.auth("admin", "lrs:admin"))
    assert r.status_code == 204
