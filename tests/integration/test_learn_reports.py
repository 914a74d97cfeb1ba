"""Team reports against the real database: a share's audience buckets, progress documents and the
directory copy written through storage, then the report, the CSV export and a team's shares read back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from learnloop_learn.domain import export
from learnloop_learn.domain.audience import Bucket
from learnloop_learn.domain.directory import TeamPart, UserVersion
from learnloop_learn.domain.shares import new_share
from learnloop_learn.storage.directory import DirectoryCopy
from learnloop_learn.storage.learning import LearningStore
from learnloop_learn.usecases.directory import KeepDirectory
from learnloop_learn.usecases.reports import Reports

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def team(tid: str, members: list[str], teams=(), managers=(), name=None, version=1) -> TeamPart:
    return TeamPart(
        tid, name or tid.upper(), tuple(teams), tuple(managers), tuple(members), len(members), 0, 1, version, T0
    )


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("strategy", ["lookup", "merge"])
async def test_report_csv_and_team_learning_read_the_copy_and_the_audience(mongo, unique, strategy):
    db = mongo[f"learn_reports_{strategy}_{unique}"]
    store = LearningStore(db)
    await store.ensure_indexes()
    directory = DirectoryCopy(db)
    await directory.ensure_indexes()
    keep = KeepDirectory(directory)
    reports = Reports(store, directory, strategy)
    other = Reports(store, directory, "merge" if strategy == "lookup" else "lookup")

    users = [f"u{i:04d}" for i in range(2500)]  # in three buckets, every third user each: not in id order
    web, data, ops = users[:1000], users[1000:1500], users[1500:1600]
    await keep.users_changed([UserVersion(u, f"User {u}", None, 1) for u in users[:3]])
    await keep.teams_changed(
        [
            team("org", [], teams=["eng"], managers=["boss"]),
            team("eng", [], teams=["web", "data"], managers=["lead"]),
            team("web", web),
            team("data", data),
            team("ops", ops, managers=["opsy"]),
        ]
    )
    sid, old = f"s-{unique}", f"o-{unique}"
    await store.upsert_shares(
        [
            new_share(sid, "ann", "Kafka", None, (), T0, due_at=T0 + timedelta(days=1)),
            new_share(old, "cat", "Old", None, (), T0 - timedelta(days=1)),
        ]
    )
    await store.add_recipients(
        [Bucket(f"{sid}|o0:{k}", sid, T0, tuple(users[k::3])) for k in range(3)]
        + [Bucket(f"{old}|o0:0", old, T0 - timedelta(days=1), tuple(ops[:10]))]
    )
    buckets = {b["_id"]: b["stored_at"] async for b in store.audience.coll.find({"share_id": sid})}
    stored_at = min(buckets.values())
    # u0000 learned (web), u1000 applied (data) and passed the check, u1500 only opened (ops).
    # u0000 and u1500 are in the first bucket, u1000 in the second.
    progress = [
        {"_id": f"{sid}|u0000", "share_id": sid, "user_id": "u0000", "cycle": 1, "acknowledged": ["opened", "learned"],
         "first_at": {"opened": stored_at, "learned": buckets[f"{sid}|o0:0"] + timedelta(seconds=100)},
         "last_completed_revision": 1, "rating": 4},
        {"_id": f"{sid}|u1000", "share_id": sid, "user_id": "u1000", "cycle": 1, "acknowledged": ["applied"],
         "first_at": {"applied": buckets[f"{sid}|o0:1"] + timedelta(seconds=300)},
         "last_completed_revision": 1, "check_passed": True, "check_best": 1.0, "check_attempts": 2},
        {"_id": f"{sid}|u1500", "share_id": sid, "user_id": "u1500", "cycle": 1, "acknowledged": ["opened"],
         "first_at": {"opened": stored_at}},
    ]  # fmt: skip
    await db["progress"].insert_many(progress)
    share = await store.shares.find_one({"_id": sid})

    # The author: every team a recipient belongs to, sorted by name; users in no team count in totals only.
    r = await reports.share_report(share, "ann")
    assert r is not None
    assert (r.totals["recipients"], r.totals["opened"], r.totals["learned"], r.totals["applied"]) == (2500, 2, 1, 1)
    assert (r.totals["passed"], r.totals["pending"], r.totals["median_time_to_learn_s"]) == (1, 2498, 200.0)
    rows = {row["team_id"]: row for row in r.by_team}
    assert [row["name"] for row in r.by_team] == ["DATA", "ENG", "OPS", "ORG", "WEB"]
    assert (rows["org"]["recipients"], rows["eng"]["learned"], rows["eng"]["applied"]) == (1500, 1, 1)
    assert (rows["web"]["median_time_to_learn_s"], rows["data"]["passed"], rows["ops"]["opened"]) == (100.0, 1, 1)
    # A manager sees their teams and the nested ones; one who manages nothing that received it sees nothing.
    r = await reports.share_report(share, "lead")
    assert r is not None and [row["team_id"] for row in r.by_team] == ["data", "eng", "web"]
    assert r.totals["recipients"] == 1500
    assert await reports.share_report(share, "nobody") is None
    # The other strategy gives the same reports.
    for reader in ("ann", "lead", "opsy", "boss"):
        assert await reports.share_report(share, reader) == await other.share_report(share, reader)

    # The CSV: a header and one row per recipient, in bucket order or (merged) by user id; the same rows.
    listed = csv_rows("".join([c async for c in reports.csv_chunks(share)]))
    in_buckets = users[0::3] + users[1::3] + users[2::3]
    assert [row["user_id"] for row in listed] == (users if strategy == "merge" else in_buckets)
    rows_other = csv_rows("".join([c async for c in other.csv_chunks(share)]))
    assert {tuple(r.items()) for r in listed} == {tuple(r.items()) for r in rows_other}
    rows_csv = {row["user_id"]: row for row in listed}
    first = rows_csv["u0000"]
    assert (first["name"], first["teams"], first["rating"], first["status"]) == (
        "User u0000",
        "eng;org;web",
        "4",
        "completed",
    )
    assert first["learned_at"].endswith("Z") and first["applied_at"] == ""
    assert rows_csv["u1000"]["check_score"] == "1.0" and rows_csv["u1000"]["teams"] == "data;eng;org"
    assert rows_csv["u2000"] == {**rows_csv["u2000"], "name": "", "teams": "", "status": "pending"}
    # Each row carries its own bucket's stored_at, whatever order the rows come in.
    assert all(rows_csv[u]["delivered_at"] == export.rfc3339(buckets[f"{sid}|o0:{i % 3}"]) for i, u in enumerate(users))

    # The rule: merge when recipients × 10 ≥ the directory documents the merge would scan (1,600
    # memberships, and 3 users for the CSV): yes for 2,500 recipients, no for the old share's 10.
    auto = Reports(store, directory)
    assert await auto.merges(sid, names=True) and await auto.merges(sid, names=False)
    assert not await auto.merges(old, names=False)

    # A team's shares: ops members got both shares, newest first, counted for ops only; pages by cursor.
    assert await reports.team_learning("lead", "ops", None, 10) is None
    found = await reports.team_learning("opsy", "ops", None, 1)
    assert found is not None
    [item], after = found
    assert (item.share_id, item.counts["recipients"], item.counts["opened"]) == (sid, 100, 1)
    assert after is not None
    found = await reports.team_learning("opsy", "ops", after, 1)
    assert found is not None
    [item], after = found
    assert (item.share_id, item.counts["recipients"], after) == (old, 10, None)
    found = await reports.team_learning("boss", "eng", None, 10)  # through nesting: eng's members are web+data
    assert found is not None
    [item], after = found
    assert (item.share_id, item.counts["recipients"], item.counts["passed"]) == (sid, 1500, 1)
