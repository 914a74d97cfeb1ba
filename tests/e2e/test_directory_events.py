"""The directory as events on the real broker: every PUT of a user or team publishes its change to
``learnloop.directory`` (keyed by id, version +1 per change; a team in parts of ≤ 2,000 members)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from learnloop_shared.events import DirectoryTeamChanged, DirectoryUserChanged, decode
from learnloop_shared.settings import Topics

from ..helpers import eventually, read_all

TOPIC = Topics().directory
ADMIN = ("directory:write",)


async def directory_events(infra: Any, prefix: str) -> dict[str, list[Any]]:
    """Every directory event so far whose key starts with ``prefix``, per key, in partition order."""
    by_key: dict[str, list[Any]] = defaultdict(list)
    for rec in await read_all(infra, TOPIC, quiet_ms=800):
        key = rec.key.decode() if rec.key else ""
        if key.startswith(prefix):
            by_key[key].append((rec.partition, decode(rec.value)))
    for key, events in by_key.items():
        assert len({p for p, _ in events}) == 1, f"{key}: every event of one id on one partition"
    return {key: [e for _, e in events] for key, events in by_key.items()}


async def test_user_writes_publish_one_event_each_with_the_next_version(api, stack, unique):
    admin = api.auth("admin", *ADMIN)
    u = f"dir-{unique}"
    r = await api.share.put(f"/v1/users/{u}-a", json={"name": "Ann", "email": "ann@example.com"}, headers=admin)
    assert r.status_code == 200, r.text
    r = await api.share.put(f"/v1/users/{u}-a/subscriptions/kafka.streams", headers=admin)  # not a directory change
    assert r.status_code == 200, r.text
    sync = [{"id": f"{u}-a", "name": "Ann B."}, {"id": f"{u}-b", "name": "Ben"}]
    r = await api.share.put("/v1/users", json={"users": sync}, headers=admin)
    assert r.json() == {"created": 1, "updated": 1}

    async def arrived():
        events = await directory_events(stack.infra, u)
        return len(events.get(f"{u}-a", [])) == 2 and len(events.get(f"{u}-b", [])) == 1 and events

    events = await eventually(arrived, timeout=30)
    first, second = (e.data for e in events[f"{u}-a"])
    assert all(e.type == DirectoryUserChanged.event_type for e in events[f"{u}-a"])
    assert (first.user_id, first.name, first.email, first.version) == (f"{u}-a", "Ann", "ann@example.com", 1)
    assert (second.name, second.email, second.version) == ("Ann B.", None, 2)
    [ben] = events[f"{u}-b"]
    assert (ben.data.name, ben.data.version, ben.subject) == ("Ben", 1, f"{u}-b")


async def test_a_team_of_5000_members_comes_in_3_parts_with_its_managers(api, stack, unique):
    admin = api.auth("admin", *ADMIN)
    t = f"dirteam-{unique}"
    members = [f"m{unique}-{i:05d}" for i in reversed(range(5000))]  # stored order, not sorted order
    body = {"name": "Platform", "members": members, "teams": [f"{t}-sre"], "managers": [f"boss-{unique}"]}
    r = await api.share.put(f"/v1/teams/{t}", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["managers"] == [f"boss-{unique}"]
    r = await api.share.get(f"/v1/teams/{t}", headers=admin)
    assert r.json()["managers"] == [f"boss-{unique}"]
    r = await api.share.put(f"/v1/teams/{t}-sre", json={"name": "SRE"}, headers=admin)  # no members: one part
    r = await api.share.put(f"/v1/teams/{t}", json={**body, "members": members[:10], "managers": []}, headers=admin)
    assert r.status_code == 200 and r.json()["managers"] == []

    async def arrived():
        events = await directory_events(stack.infra, t)
        return len(events.get(t, [])) == 4 and len(events.get(f"{t}-sre", [])) == 1 and events

    events = await eventually(arrived, timeout=30)
    parts = [e.data for e in events[t]]
    assert all(isinstance(p, DirectoryTeamChanged) for p in parts)
    v1, v2 = parts[:3], parts[3]
    assert [(p.version, p.part, p.parts, p.members_total) for p in v1] == [(1, i, 3, 5000) for i in range(3)]
    assert [len(p.members) for p in v1] == [2000, 2000, 1000]
    assert [m for p in v1 for m in p.members] == members
    assert {(p.name, p.teams, p.managers) for p in v1} == {("Platform", (f"{t}-sre",), (f"boss-{unique}",))}
    assert (v2.version, v2.part, v2.parts, v2.members, v2.managers) == (2, 0, 1, tuple(members[:10]), ())
    [sre] = [e.data for e in events[f"{t}-sre"]]
    assert (sre.parts, sre.members, sre.members_total, sre.version) == (1, (), 0, 1)


async def test_republish_resends_the_directory_with_current_versions(api, stack, unique):
    admin = api.auth("admin", *ADMIN)
    u = f"rep-{unique}"
    for name in ("Ann", "Ann v2"):
        r = await api.share.put(f"/v1/users/{u}-a", json={"name": name}, headers=admin)
        assert r.status_code == 200, r.text
    r = await api.share.put(f"/v1/teams/{u}-t", json={"name": "T", "members": [f"{u}-a"]}, headers=admin)
    assert r.status_code == 200, r.text
    r = await api.share.put(f"/v1/teams/{u}-t", json={"name": "T", "managers": [f"{u}-a"]}, headers=admin)
    assert r.status_code == 200, r.text

    r = await api.share.post("/v1/directory/republish", headers=admin)
    assert r.status_code == 202, r.text
    counts = r.json()
    assert set(counts) == {"users", "teams"} and counts["users"] >= 1 and counts["teams"] >= 1

    async def republished():
        events = await directory_events(stack.infra, u)
        return len(events.get(f"{u}-a", [])) >= 3 and len(events.get(f"{u}-t", [])) >= 3 and events

    events = await eventually(republished, timeout=60)
    user = [e.data.version for e in events[f"{u}-a"]]
    team = [(e.data.version, e.data.managers, e.data.members) for e in events[f"{u}-t"]]
    assert user[:2] == [1, 2] and set(user[2:]) == {2}  # the writes, then the republish at the stored version
    assert team[:2] == [(1, (), (f"{u}-a",)), (2, (f"{u}-a",), ())] and set(team[2:]) == {(2, (f"{u}-a",), ())}
    assert len({e.id for e in events[f"{u}-a"]}) == len(events[f"{u}-a"])  # a republish is a new message


async def test_republish_needs_the_directory_scope(api):
    r = await api.share.post("/v1/directory/republish", headers=api.auth("bob"))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
