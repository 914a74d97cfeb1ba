"""Directory sync over HTTP: many users and their subscriptions in one request, reflected in fan-out."""

from __future__ import annotations

from .test_errors import assert_problem


async def test_a_batch_of_users_is_created_then_replaced_and_fan_out_follows(api, unique):
    admin = api.auth("admin", "directory:write")
    topic = f"sync{unique}.news"
    users = [{"id": f"s{unique}-{i:03d}", "name": f"User {i}", "topics": [topic]} for i in range(300)]

    r = await api.share.put("/v1/users", json={"users": users}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 300, "updated": 0}

    async def preview() -> int:
        body = {"title": "Preview", "audience": {"topics": [f"sync{unique}.*"]}}
        r = await api.share.post("/v1/shares/preview", json=body, headers=api.auth(f"author-{unique}"))
        assert r.status_code == 200, r.text
        return int(r.json()["audience_size"])

    assert await preview() == 300
    # Replacing: the first 100 drop the topic, and 50 new users join.
    changed = [{**u, "topics": []} for u in users[:100]]
    joined = [{"id": f"s{unique}-new-{i:02d}", "name": "New", "topics": [topic]} for i in range(50)]
    r = await api.share.put("/v1/users", json={"users": changed + joined}, headers=admin)
    assert r.json() == {"created": 50, "updated": 100}
    assert await preview() == 250
    r = await api.share.get(f"/v1/users/{users[0]['id']}", headers=admin)
    assert r.json()["topics"] == []


async def test_a_sync_is_refused_without_the_scope_or_with_bad_input(api, unique):
    admin = api.auth("admin", "directory:write")
    one = {"id": f"x{unique}", "name": "X"}
    assert_problem(await api.share.put("/v1/users", json={"users": [one]}, headers=api.auth("bob")), 403)
    assert_problem(await api.share.put("/v1/users", json={"users": [one, one]}, headers=admin), 422)
    assert_problem(await api.share.put("/v1/users", json={"users": []}, headers=admin), 422)
    too_many = [{"id": f"x{unique}-{i}", "name": "X"} for i in range(1001)]
    assert_problem(await api.share.put("/v1/users", json={"users": too_many}, headers=admin), 422)
    bad = {"id": "has space", "name": "X", "topics": ["Not A Topic!"]}
    assert_problem(await api.share.put("/v1/users", json={"users": [bad]}, headers=admin), 422)
