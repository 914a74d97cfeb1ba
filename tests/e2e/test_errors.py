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


# --- bad input never gets a 500 (issue 10) ------------------------------------------------------------


def _cursor(at: str, id_: str = "x") -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps([at, id_]).encode()).decode().rstrip("=")


async def test_a_share_whose_audience_is_all_unknown_is_listed_not_a_500(api, unique):
    ids = await directory(api, unique)
    alice = api.auth(ids["alice"])
    r = await api.share.post(
        "/v1/shares", json={"title": "To nobody", "audience": {"users": [f"ghost-{unique}"]}}, headers=alice
    )
    assert r.status_code == 202, r.text
    share = r.json()
    assert share["unknown_users"] == [f"ghost-{unique}"] and share["audience"]["users"] == []
    r = await api.share.post(
        "/v1/shares", json={"title": "To no team", "audience": {"teams": [f"ghost-{unique}"]}}, headers=alice
    )
    assert r.status_code == 202, r.text
    assert r.json()["unknown_teams"] == [f"ghost-{unique}"]
    publisher = api.auth(f"wiki-{unique}", "shares:publish")
    r = await api.share.post(
        "/v1/shares",
        json={"title": "For alice", "audience": {"teams": [f"none-{unique}"]}, "author_id": ids["alice"]},
        headers=publisher,
    )
    assert r.status_code == 202, r.text
    r = await api.share.get("/v1/shares", headers=alice)
    assert r.status_code == 200, r.text
    assert {s["title"] for s in r.json()["items"]} == {"To nobody", "To no team", "For alice"}
    r = await api.share.get(f"/v1/shares/{share['id']}", headers=alice)
    assert r.status_code == 200, r.text


EDGE_DATES = [
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00-05:00",
    "9999-12-31T23:59:59.999999",
    "9999-12-31T23:59:59.999999+00:00",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59+05:00",
]


@pytest.mark.parametrize("at", EDGE_DATES)
async def test_cursors_at_the_edges_of_time_are_invalid_not_a_500(api, unique, at):
    me = f"edge-{unique}"
    auth = api.auth(me)
    hook = {"url": "https://example.com/hook", "events": ["feedback"], "secret": "whsec_" + "A" * 32}
    r = await api.notify.put(f"/v1/webhooks/wh-{unique}", json=hook, headers=auth)
    assert r.status_code == 200, r.text
    lists = [
        (api.share, "/v1/shares"),
        (api.learn, "/v1/me/learning"),
        (api.notify, "/v1/notifications"),
        (api.notify, f"/v1/webhooks/wh-{unique}/deliveries"),
    ]
    for client, path in lists:
        r = await client.get(path, params={"cursor": _cursor(at)}, headers=auth)
        assert_problem(r, 422)
        assert "cursor" in r.json()["detail"]


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("2026-01-01T00:00:00+00:00", "x" * 5000),
        _cursor("2026-01-01T00:00:00+00:00", "nul\u0000id"),
        "W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1td",
        "x" * 10_000,
    ],
)
async def test_odd_cursors_are_invalid(api, cursor):
    auth = api.auth("odd-cursor")
    for client, path in [(api.share, "/v1/shares"), (api.learn, "/v1/me/learning"), (api.notify, "/v1/notifications")]:
        r = await client.get(path, params={"cursor": cursor}, headers=auth)
        assert r.status_code in (400, 422), (path, r.status_code, r.text)
        assert r.headers["content-type"] == PROBLEM


def _b64(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "last_event_id",
    [
        _b64('{"a\\u0000b": 1}'),
        _b64('{"_data": 123456789012345678901234567890}'),
        _b64('{"_data": {"$where": 1}}'),
        _b64('{"$x": 1}'),
        _b64("[1, 2]"),
        _b64('"just a string"'),
        _b64("[" * 50_000),
        "not base64 at all!",
    ],
)
async def test_odd_last_event_ids_are_invalid_not_a_500(api, last_event_id):
    headers = {**api.auth("sse-odd"), "Last-Event-ID": last_event_id}
    r = await api.notify.get("/v1/notifications/stream", headers=headers)
    assert_problem(r, 422)


async def test_the_connection_survives_a_bad_request(api, unique):
    """A keep-alive connection stays usable after any error response (no dropped connections)."""
    import httpx

    ids = await directory(api, unique)
    alice = api.auth(ids["alice"])
    async with httpx.AsyncClient(base_url=str(api.share.base_url), timeout=15) as client:
        await client.post("/v1/shares", json={"title": "x", "audience": {"users": [f"ghost-{unique}"]}}, headers=alice)
        for _ in range(2):
            r = await client.get("/v1/shares", params={"cursor": _cursor("0001-01-01T00:00:00+05:00")}, headers=alice)
            assert r.status_code < 500, r.text
            assert (await client.get(f"/v1/users/{ids['bob']}", headers=alice)).status_code == 200


async def test_a_body_over_the_limit_gets_413_before_it_is_read(api):
    import asyncio
    from urllib.parse import urlsplit

    admin = api.auth("admin", "directory:write")
    # A client that waits for "100 Continue" before sending 50 MB is answered at once and sends nothing.
    url = urlsplit(str(api.share.base_url))
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"PUT /v1/users HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: {admin['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line

    # One that just sends it gets the 413 too, on a connection that stays usable.
    chunk = b" " * 65536

    async def fifty_megabytes():
        for _ in range(800):
            yield chunk

    headers = {**admin, "content-type": "application/json", "content-length": str(800 * len(chunk))}
    r = await api.share.put("/v1/users", content=fifty_megabytes(), headers=headers)
    assert_problem(r, 413)
    assert "1048576" in r.json()["detail"]
    assert (await api.share.get("/v1/users/nobody", headers=admin)).status_code == 404

    async def chunked():  # no Content-Length: the server counts what it reads
        for _ in range(40):
            yield chunk

    r = await api.share.put("/v1/users", content=chunked(), headers={**admin, "content-type": "application/json"})
    assert_problem(r, 413)
    assert (await api.share.get("/v1/users/nobody", headers=admin)).status_code == 404


async def test_documents_that_could_outgrow_the_database_are_refused(api, unique):
    admin = api.auth("admin", "directory:write")
    members = [f"member-{i:06d}-" + "m" * 180 for i in range(100_000)]
    r = await api.share.put(f"/v1/teams/big-{unique}", json={"name": "Big", "members": members}, headers=admin)
    assert r.status_code in (413, 422), r.text
    assert r.headers["content-type"] == PROBLEM
    muted = [f"s{i}-" + "s" * 4096 for i in range(5000)]
    r = await api.notify.put("/v1/me/preferences", json={"muted_shares": muted}, headers=api.auth(f"m-{unique}"))
    assert r.status_code in (413, 422), r.text
    assert r.headers["content-type"] == PROBLEM
    # Under the body cap, the field limits speak: 422 naming the limit.
    r = await api.notify.put("/v1/me/preferences", json={"muted_shares": ["s" * 4096]}, headers=api.auth(f"m-{unique}"))
    assert_problem(r, 422)
    assert "200" in r.text
