"""The directory as events: versions, team parts, stable ids (pure, no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from learnloop_share.domain.directory import TeamIn
from learnloop_share.domain.directory_events import MEMBERS_PER_PART, team_changed, user_changed
from learnloop_share.usecases.directory import team_events, user_events
from pydantic import ValidationError

AT = datetime(2026, 1, 1, tzinfo=UTC)


def team(n: int, **kw: object) -> dict[str, object]:
    return {"_id": "t", "name": "T", "members": [f"u{i:05d}" for i in range(n)], "updated_at": AT, "version": 4, **kw}


@pytest.mark.parametrize(("members", "parts"), [(0, 1), (1, 1), (2000, 1), (2001, 2), (5000, 3), (50_000, 25)])
def test_a_team_comes_in_parts_of_at_most_2000_members_in_stored_order(members, parts):
    events = team_changed(team(members, teams=["sub"], managers=["boss"]))
    assert [e.part for e in events] == list(range(parts))
    assert {(e.parts, e.members_total, e.version, e.name) for e in events} == {(parts, members, 4, "T")}
    assert all(len(e.members) <= MEMBERS_PER_PART and e.teams == ("sub",) and e.managers == ("boss",) for e in events)
    assert [m for e in events for m in e.members] == team(members)["members"]


def test_a_document_from_before_versions_is_version_1():
    assert user_changed({"_id": "u", "name": "U", "updated_at": AT}).version == 1
    assert team_changed(team(3, version=None))[0].version == 1


def test_event_ids_are_stable_per_version_and_part_and_a_republish_has_its_own():
    doc = team(4500)
    ids = [e.id for _, e in team_events(doc, "/s")]
    assert ids == [e.id for _, e in team_events(doc, "/s")] and len(set(ids)) == 3
    assert set(ids).isdisjoint(e.id for _, e in team_events({**doc, "version": 5}, "/s"))
    republished = [e.id for _, e in team_events(doc, "/s", "republish", "job-1")]
    assert set(ids).isdisjoint(republished)
    assert republished == [e.id for _, e in team_events(doc, "/s", "republish", "job-1")]
    [(key, event)] = user_events({"_id": "u", "name": "U", "email": None, "updated_at": AT, "version": 2}, "/s")
    assert key == "u" and event.data.version == 2 and event.subject == "u"
    assert {k for k, _ in team_events(doc, "/s")} == {"t"}  # every part on the team's partition


def test_managers_are_ids_at_most_100_and_default_to_none():
    assert TeamIn(name="T").managers == []
    assert TeamIn(name="T", managers=["a", "b"]).managers == ["a", "b"]
    with pytest.raises(ValidationError):
        TeamIn(name="T", managers=[f"m{i}" for i in range(101)])
    with pytest.raises(ValidationError):
        TeamIn(name="T", managers=["has space"])
