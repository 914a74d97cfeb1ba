"""Learn's directory copy rules and team reports (pure parts): nesting and managers, the median, counts,
CSV rows."""

from __future__ import annotations

import csv
import io
import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from learnloop_learn.domain import export, rules
from learnloop_learn.domain.directory import (
    MAX_TEAM_PARTS,
    TeamPart,
    UserVersion,
    assembled,
    membership_changes,
    newest_users,
    why_rejected,
)
from learnloop_learn.domain.reports import EXACT_MEDIAN_MAX, Median, TeamReport, facts_of
from learnloop_learn.domain.teams import TeamGraph, TeamInfo

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def graph() -> TeamGraph:
    # org ⊃ eng ⊃ {web, data}; data ⊃ eng (a cycle); ops apart. ann manages eng, bob manages ops.
    return TeamGraph.of(
        [
            TeamInfo("org", "Org", ("eng",)),
            TeamInfo("eng", "Engineering", ("web", "data"), ("ann",)),
            TeamInfo("web", "Web"),
            TeamInfo("data", "Data", ("eng",)),
            TeamInfo("ops", "", (), ("bob",)),
        ]
    )


def test_closure_follows_nesting_at_any_depth_and_cuts_cycles():
    g = graph()
    assert g.closure("org") == {"org", "eng", "web", "data"}
    assert g.closure("data") == {"data", "eng", "web"}  # through the cycle back to eng, once
    assert g.closure("web") == {"web"}
    assert g.closure("unknown") == {"unknown"}


def test_a_user_belongs_to_every_team_their_direct_teams_are_nested_under():
    g = graph()
    assert g.teams_of(["web"]) == {"web", "eng", "org", "data"}  # data nests eng, which nests web
    assert g.teams_of(["ops"]) == {"ops"}
    assert g.teams_of([]) == set()


def test_a_manager_reads_their_teams_and_the_teams_nested_under_them():
    g = graph()
    assert g.managed_by("ann") == {"eng", "web", "data"}
    assert g.managed_by("bob") == {"ops"}
    assert g.managed_by("cat") == set()
    assert rules.can_read_team(g, "ann", "web") and not rules.can_read_team(g, "ann", "org")
    assert not rules.can_read_team(g, "ann", "ops") and not rules.can_read_team(g, "bob", "eng")
    assert not rules.can_read_team(g, "ann", "nowhere")


def test_a_team_without_a_name_is_named_by_its_id():
    g = graph()
    assert (g.name("ops"), g.name("web"), g.name("unknown")) == ("ops", "Web", "unknown")


def test_the_median_is_exact_up_to_the_limit():
    m = Median()
    assert m.value() is None
    for x in (5.0, 1.0, 3.0, 2.0):
        m.add(x)
    assert m.value() == 2.5
    values = [random.Random(1).uniform(0, 1e6) for _ in range(EXACT_MEDIAN_MAX)]
    m = Median()
    for v in values:
        m.add(v)
    assert m.value() == statistics.median(values)


@pytest.mark.parametrize("n", [EXACT_MEDIAN_MAX + 1, 50_001])
def test_past_the_limit_the_median_is_within_one_percent(n):
    rnd = random.Random(n)
    values = [rnd.lognormvariate(8, 2) for _ in range(n)]
    values[: n // 20] = [0.0] * (n // 20)  # some learned the instant they got it
    m = Median()
    for v in values:
        m.add(v)
    exact = statistics.median(values)
    assert m._exact is None  # switched to the histogram
    assert abs(m.value() - exact) <= 0.01 * exact


def share(due_at=None, confirm_revision=1):
    return {"_id": "s1", "author_id": "ann", "due_at": due_at, "confirm_revision": confirm_revision}


def progress(**fields):
    return {"cycle": 1, "acknowledged": [], "first_at": {}, **fields}


def test_facts_count_the_current_cycle_and_time_to_learn_from_delivery():
    p = progress(
        acknowledged=["opened", "learned"],
        first_at={"opened": T0 + timedelta(seconds=10), "learned": T0 + timedelta(seconds=90)},
        last_completed_revision=1,
        rating=4,
        check_passed=True,
        check_best=0.75,
    )
    f = facts_of(p, share(), T0, T0)
    assert (f.status, f.opened, f.learned, f.applied, f.passed) == ("completed", True, True, False, True)
    assert (f.time_to_learn_s, f.rating, f.check_score) == (90.0, 4, 0.75)
    # Applied without learned: time to learn from applied.
    f = facts_of(progress(acknowledged=["applied"], first_at={"applied": T0 + timedelta(seconds=5)}), share(), T0, T0)
    assert f.time_to_learn_s == 5.0 and not f.learned and f.applied
    # A progress of an earlier confirm cycle counts for nothing in this one (the rating stays).
    f = facts_of({**p, "cycle": 1}, share(T0 - timedelta(days=1), confirm_revision=2), T0, T0)
    assert (f.status, f.opened, f.learned, f.time_to_learn_s, f.rating) == ("overdue", False, False, None, 4)
    f = facts_of(None, share(), T0, T0)
    assert (f.status, f.passed, f.time_to_learn_s, f.check_score) == ("pending", False, None, None)


def test_a_team_report_counts_each_team_and_a_manager_sees_only_theirs():
    learned = facts_of(
        progress(acknowledged=["learned"], first_at={"learned": T0 + timedelta(seconds=60)}, last_completed_revision=1),
        share(),
        T0,
        T0,
    )
    nothing = facts_of(None, share(), T0, T0)
    everyone = [({"web", "eng"}, learned), ({"ops"}, nothing), (set(), nothing), ({"eng"}, nothing)]
    author = TeamReport()
    manager = TeamReport(visible={"eng", "web", "data"})
    for teams, f in everyone:
        author.add(teams, f)
        manager.add(teams, f)
    assert author.totals.as_dict() == {
        "recipients": 4,
        "opened": 0,
        "learned": 1,
        "applied": 0,
        "passed": 0,
        "pending": 3,
        "overdue": 0,
        "median_time_to_learn_s": 60.0,
    }
    rows = author.rows(graph().name)
    assert [(r["team_id"], r["name"], r["recipients"], r["learned"]) for r in rows] == [
        ("eng", "Engineering", 2, 1),
        ("web", "Web", 1, 1),
        ("ops", "ops", 1, 0),
    ]
    assert manager.totals.recipients == 2 and [r["team_id"] for r in manager.rows(graph().name)] == ["eng", "web"]


def test_a_csv_row_has_every_column_rfc3339_times_and_no_formulas():
    p = progress(
        acknowledged=["opened", "learned"],
        first_at={"opened": T0 + timedelta(seconds=1), "learned": T0 + timedelta(hours=1)},
        rating=5,
        check_best=1.0,
        last_completed_revision=1,
    )
    row = export.row("=cmd|' /C calc'!A0", '+Ann, "the" great', {"web", "eng"}, T0, facts_of(p, share(), T0, T0))
    assert dict(zip(export.COLUMNS, row, strict=True)) == {
        "user_id": "'=cmd|' /C calc'!A0",
        "name": '\'+Ann, "the" great',
        "teams": "eng;web",
        "delivered_at": "2026-12-01T09:00:00.000Z",
        "opened_at": "2026-12-01T09:00:01.000Z",
        "learned_at": "2026-12-01T10:00:00.000Z",
        "applied_at": "",
        "rating": "5",
        "check_score": "1.0",
        "status": "completed",
    }
    empty = export.row("bob", "", (), None, facts_of(None, share(), T0, T0))
    assert empty == ["bob", "", "", "", "", "", "", "", "", "pending"]
    for cell in ("-1", "@SUM(A1)", "\tx", "\rx"):
        assert export.safe(cell).startswith("'")
    text = export.lines([export.COLUMNS, row])
    assert text.startswith("user_id,name,teams,") and text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text)))[1] == row  # quoting round-trips


def test_a_team_version_is_whole_only_with_every_part():
    def part(n: int, parts: int, version: int = 1, members=("a",)) -> TeamPart:
        return TeamPart("t", "T", (), (), tuple(members), 3, n, parts, version, T0)

    assert assembled([part(0, 3, members=("a",)), part(2, 3, members=("c",))], 1) is None
    parts = [part(2, 3, members=("c",)), part(0, 3, members=("a",)), part(1, 3, members=("b",))]
    assert assembled(parts, 1) == ["a", "b", "c"]
    assert assembled(parts, 2) is None
    assert membership_changes({"a", "b"}, ["b", "c"]) == (["c"], ["a"])
    assert why_rejected(part(0, MAX_TEAM_PARTS)) is None and why_rejected(part(0, MAX_TEAM_PARTS + 1))


def test_the_newest_version_of_each_user_wins_in_a_batch():
    batch = [UserVersion("u", "B", None, 2), UserVersion("u", "A", None, 1), UserVersion("v", "V", None, 1)]
    assert {(u.user_id, u.name) for u in newest_users(batch)} == {("u", "B"), ("v", "V")}
