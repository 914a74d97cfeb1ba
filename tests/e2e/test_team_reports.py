"""Team reports over HTTP: teams and managers written to the share service reach learn's directory copy
as events; the author's report has a row per team (nested teams included), a manager sees only their
teams, a manager of team A gets 404 for team B's learning and for a share only B received, and the CSV
export has one row per recipient."""

from __future__ import annotations

import csv
import io

from ..helpers import eventually

ADMIN = ("directory:write",)


async def directory(api, u: str) -> dict[str, str]:
    """Users and teams: Alpha (ann-managed by ma) holds a1, a2 and nests Alpha Sub (a3); Beta (mb) holds b1."""
    admin = api.auth("admin", *ADMIN)
    ids = {n: f"{n}-{u}" for n in ("ann", "ma", "mb", "a1", "a2", "a3", "b1")}
    names = {"a3": '=HYPERLINK("http://x")'}
    for n, uid in ids.items():
        r = await api.share.put(f"/v1/users/{uid}", json={"name": names.get(n, n.upper())}, headers=admin)
        assert r.status_code == 200, r.text
    teams = {
        f"sub-{u}": {"name": "Alpha Sub", "members": [ids["a3"]]},
        f"alpha-{u}": {
            "name": "Alpha",
            "members": [ids["a1"], ids["a2"]],
            "teams": [f"sub-{u}"],
            "managers": [ids["ma"]],
        },
        f"beta-{u}": {"name": "Beta", "members": [ids["b1"]], "managers": [ids["mb"]]},
    }
    for tid, body in teams.items():
        r = await api.share.put(f"/v1/teams/{tid}", json=body, headers=admin)
        assert r.status_code == 200, r.text
    return ids


async def publish(api, author: str, users: list[str], title: str) -> str:
    r = await api.share.post(
        "/v1/shares", json={"title": title, "audience": {"users": users}}, headers=api.auth(author)
    )
    assert r.status_code == 202, r.text
    sid = r.json()["id"]

    async def known():
        r = await api.learn.get(f"/v1/shares/{sid}/feedback", headers=api.auth(author))
        return r.status_code == 200 and r.json()["recipients"] == len(users)

    await eventually(known)
    return sid


async def get(api, path: str, user: str, **params):
    return await api.learn.get(path, params=params, headers=api.auth(user))


async def test_reports_per_team_for_authors_and_managers(api, unique):
    ids = await directory(api, unique)
    alpha, sub, beta = f"alpha-{unique}", f"sub-{unique}", f"beta-{unique}"
    everyone = [ids["a1"], ids["a2"], ids["a3"], ids["b1"]]
    first = await publish(api, ids["ann"], everyone, "Kafka")
    only_beta = await publish(api, ids["ann"], [ids["b1"]], "Only Beta")
    for user, kind in ((ids["a1"], "learned"), (ids["a3"], "opened"), (ids["b1"], "opened")):
        r = await api.learn.post(f"/v1/shares/{first}/acknowledgements", json={"kind": kind}, headers=api.auth(user))
        assert r.status_code == 201, r.text

    # Learn's directory copy catches up through the directory events.
    async def copied():
        r = await get(api, f"/v1/shares/{first}/report", ids["ann"])
        assert r.status_code == 200, r.text
        seen = {(row["team_id"], row["recipients"]) for row in r.json()["by_team"]}
        return seen == {(alpha, 3), (sub, 1), (beta, 1)} and r.json()  # every team applied, nesting included

    report = await eventually(copied, timeout=30)
    assert report["totals"] == {
        "recipients": 4,
        "opened": 2,
        "learned": 1,
        "applied": 0,
        "passed": 0,
        "pending": 3,
        "overdue": 0,
        "median_time_to_learn_s": report["totals"]["median_time_to_learn_s"],
    }
    assert report["totals"]["median_time_to_learn_s"] >= 0
    rows = {row["name"]: row for row in report["by_team"]}
    assert [row["name"] for row in report["by_team"]] == ["Alpha", "Alpha Sub", "Beta"]
    assert (rows["Alpha"]["recipients"], rows["Alpha"]["learned"], rows["Alpha"]["opened"]) == (3, 1, 1)
    assert (rows["Alpha Sub"]["recipients"], rows["Beta"]["recipients"], rows["Beta"]["opened"]) == (1, 1, 1)
    assert rows["Beta"]["median_time_to_learn_s"] is None

    # A manager sees their team and the nested one, with totals over their recipients only.
    r = await get(api, f"/v1/shares/{first}/report", ids["ma"])
    assert r.status_code == 200, r.text
    assert [row["team_id"] for row in r.json()["by_team"]] == [alpha, sub]
    assert r.json()["totals"]["recipients"] == 3
    # ... and 404 for a share only another team received, like anyone else who may not see it.
    for user in (ids["ma"], ids["a1"], ids["b1"]):
        r = await get(api, f"/v1/shares/{only_beta}/report", user)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", r.text
    r = await get(api, f"/v1/shares/{only_beta}/report", ids["mb"])
    assert r.status_code == 200 and [row["team_id"] for row in r.json()["by_team"]] == [beta]

    # A team's learning: its managers (and the managers of a team it is nested under) only.
    r = await get(api, f"/v1/teams/{beta}/learning", ids["ma"])
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await get(api, f"/v1/teams/{sub}/learning", ids["ma"])
    assert r.status_code == 200 and [i["share_id"] for i in r.json()["items"]] == [first]
    assert r.json()["items"][0]["recipients"] == 1 and r.json()["items"][0]["opened"] == 1
    r = await get(api, f"/v1/teams/{alpha}/learning", ids["ma"])
    [item] = r.json()["items"]
    assert (item["share_id"], item["title"], item["author_id"]) == (first, "Kafka", ids["ann"])
    assert (item["recipients"], item["learned"], item["opened"], item["pending"]) == (3, 1, 1, 2)
    r = await get(api, f"/v1/teams/{beta}/learning", ids["mb"], limit=1)
    assert [i["share_id"] for i in r.json()["items"]] == [only_beta]  # newest first
    r = await get(api, f"/v1/teams/{beta}/learning", ids["mb"], limit=1, cursor=r.json()["next_cursor"])
    assert [i["share_id"] for i in r.json()["items"]] == [first] and r.json()["next_cursor"] is None
    for cursor in ("bm90IGEgY3Vyc29y", "W10"):
        r = await get(api, f"/v1/teams/{beta}/learning", ids["mb"], cursor=cursor)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"

    # The CSV: the author's only; one row per recipient; formulas neutralised.
    r = await get(api, f"/v1/shares/{first}/report.csv", ids["ma"])
    assert r.status_code == 404

    async def named():  # user events reach the copy on their own partitions
        r = await get(api, f"/v1/shares/{first}/report.csv", ids["ann"])
        assert r.status_code == 200
        return all(row["name"] for row in csv.DictReader(io.StringIO(r.text))) and r

    r = await eventually(named)
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="share-{first}.csv"'
    rows_csv = {row["user_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert r.text.startswith(
        "user_id,name,teams,delivered_at,opened_at,learned_at,applied_at,rating,check_score,status\r\n"
    )
    assert set(rows_csv) == set(everyone)
    a1, a3, b1 = rows_csv[ids["a1"]], rows_csv[ids["a3"]], rows_csv[ids["b1"]]
    assert (a1["name"], a1["teams"], a1["status"]) == ("A1", alpha, "completed")
    assert a1["learned_at"].endswith("Z") and a1["delivered_at"].endswith("Z") and a1["opened_at"] == ""
    assert (a3["name"], a3["teams"], a3["status"]) == (
        '\'=HYPERLINK("http://x")',
        ";".join(sorted([alpha, sub])),
        "pending",
    )
    assert (b1["teams"], b1["opened_at"] != "", b1["rating"], b1["check_score"]) == (beta, True, "", "")


async def test_a_republish_rebuilds_learns_copy(api, stack, unique):
    """Learn's copy of this test's users and teams is wiped; a republish brings it back whole (the copy
    takes the republished versions because it no longer has them)."""
    from pymongo import AsyncMongoClient

    ids = await directory(api, unique)
    alpha = f"alpha-{unique}"
    first = await publish(api, ids["ann"], [ids["a1"], ids["a3"]], "Rebuilt")

    async def both_rows() -> bool:
        r = await get(api, f"/v1/shares/{first}/report", ids["ma"])
        return r.status_code == 200 and [row["team_id"] for row in r.json()["by_team"]] == [alpha, f"sub-{unique}"]

    await eventually(both_rows)
    client: AsyncMongoClient = AsyncMongoClient(stack.infra.mongo_url_for("learn"))
    db = client[f"{stack.db_prefix}_learn"]
    try:
        mine = {"_id": {"$regex": f"-{unique}$"}}
        for coll in ("dir_users", "dir_teams", "memberships"):
            await db[coll].delete_many(mine)
        r = await get(api, f"/v1/shares/{first}/report", ids["ma"])
        assert r.status_code == 404  # learn no longer knows ma manages anything

        r = await api.share.post("/v1/directory/republish", headers=api.auth("admin", *ADMIN))
        assert r.status_code == 202, r.text
        # The whole session's directory is sent again (users first, then teams): thousands of users by now.
        await eventually(both_rows, timeout=360)

        async def users_back() -> bool:
            return await db["dir_users"].count_documents(mine) == len(ids)

        await eventually(users_back)
        doc = await db["dir_teams"].find_one({"_id": alpha})
        assert doc["managers"] == [ids["ma"]] and doc["version"] == 1
    finally:
        await client.close()
