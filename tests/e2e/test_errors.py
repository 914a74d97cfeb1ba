"""401, 403, 404 and 422 — always as application/problem+json."""

from __future__ import annotations

import pytest

from .test_loop import directory

PROBLEM = "application/problem+json"


def assert_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]


@pytest.mark.parametrize(
    "service,method,path",
    [
        ("share", "GET", "/v1/users/x"),
        ("share", "POST", "/v1/shares"),
        ("learn", "GET", "/v1/me/learning"),
        ("learn", "POST", "/v1/shares/x/acknowledgements"),
        ("notify", "GET", "/v1/notifications"),
    ],
)
async def test_401_without_a_valid_token(api, service, method, path):
    client = getattr(api, service)
    assert_problem(await client.request(method, path), 401)
    assert_problem(await client.request(method, path, headers={"Authorization": "Bearer nope"}), 401)
    r = await client.request(method, path, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(r, 401)


async def test_health_needs_no_token(api):
    for name in ("share", "learn", "notify"):
        client = getattr(api, name)
        assert (await client.get("/healthz")).status_code == 200
        r = await client.get("/readyz")
        assert r.status_code == 200 and r.json()["ready"] is True


async def test_403_when_the_caller_may_not(api, unique):
    ids = await directory(api, unique)
    bob = api.auth(ids["bob"])
    assert_problem(await api.share.put(f"/v1/users/u-{unique}", json={"name": "X"}, headers=bob), 403)
    assert_problem(await api.share.put(f"/v1/teams/t-{unique}", json={"name": "X", "members": []}, headers=bob), 403)
    assert_problem(
        await api.share.post(
            "/v1/shares",
            headers=bob,
            json={"title": "x", "audience": {"users": [ids["carol"]]}, "author_id": ids["alice"]},
        ),
        403,
    )


async def test_404_for_what_the_caller_may_not_see(api, unique):
    ids = await directory(api, unique)
    r = await api.share.post(
        "/v1/shares", json={"title": "Private", "audience": {"users": [ids["bob"]]}}, headers=api.auth(ids["alice"])
    )
    sid = r.json()["id"]
    assert_problem(await api.share.get(f"/v1/shares/{sid}", headers=api.auth(ids["bob"])), 404)
    assert_problem(await api.share.get("/v1/shares/does-not-exist", headers=api.auth(ids["alice"])), 404)
    assert_problem(
        await api.learn.post(
            f"/v1/shares/{sid}/acknowledgements", json={"kind": "opened"}, headers=api.auth(ids["carol"])
        ),
        404,
    )
    assert_problem(await api.learn.get(f"/v1/shares/{sid}/feedback", headers=api.auth(ids["bob"])), 404)
    assert_problem(await api.share.get(f"/v1/users/nobody-{unique}", headers=api.auth(ids["bob"])), 404)
    assert_problem(await api.notify.post("/v1/notifications/not-mine/read", headers=api.auth(ids["bob"])), 404)


async def test_422_for_invalid_bodies(api, unique):
    ids = await directory(api, unique)
    alice, admin = api.auth(ids["alice"]), api.auth("admin", "directory:write")
    bad_shares = [
        {},
        {"title": "x"},
        {"title": "x", "audience": {}},
        {"title": "", "audience": {"users": ["bob"]}},
        {"title": "x", "audience": {"users": ["bob"]}, "url": "ftp:/nope"},
        {"title": "x", "audience": {"topics": ["Not A Topic"]}},
    ]
    for body in bad_shares:
        r = await api.share.post("/v1/shares", json=body, headers=alice)
        assert_problem(r, 422)
        assert r.json()["errors"]
    r = await api.share.post("/v1/shares", content=b"{not json", headers={**alice, "content-type": "application/json"})
    assert_problem(r, 422)
    assert_problem(await api.share.put(f"/v1/users/u-{unique}", json={"email": "x"}, headers=admin), 422)
    r = await api.share.put(f"/v1/teams/a-{unique}", json={"name": "A", "teams": [f"b-{unique}"]}, headers=admin)
    assert r.status_code == 200
    r = await api.share.put(f"/v1/teams/b-{unique}", json={"name": "B", "teams": [f"a-{unique}"]}, headers=admin)
    assert_problem(r, 422)
    assert "cycle" in r.json()["detail"]
    ack = "/v1/shares/whatever/acknowledgements"
    for body in ({"kind": "nope"}, {"kind": "rated", "rating": 9}, {"kind": "question"}):
        assert_problem(await api.learn.post(ack, json=body, headers=alice), 422)
    assert_problem(await api.notify.get("/v1/notifications", params={"limit": 0}, headers=alice), 422)
    assert_problem(await api.notify.get("/v1/notifications", params={"cursor": "garbage"}, headers=alice), 422)
