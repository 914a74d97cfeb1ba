"""Learn's directory copy, against the real broker and database: directory events produced straight onto a
topic build ``dir_users``, ``dir_teams`` and ``memberships`` — the highest version wins, a team's version
applies once all its parts are stored, membership changes are diffs, replays and late old versions
change nothing, and an event the copy cannot hold goes to the dead-letter topic."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from aiokafka import AIOKafkaProducer
from learnloop_learn.app import consumers
from learnloop_learn.domain.directory import TeamPart
from learnloop_learn.messaging.directory import DirectoryHandlers
from learnloop_learn.storage.directory import DirectoryCopy
from learnloop_learn.usecases.directory import KeepDirectory
from learnloop_shared.events import DirectoryTeamChanged, DirectoryUserChanged, EventData, encode, make_event
from learnloop_shared.kafka.dead_letters import DeadLetters
from learnloop_shared.kafka.publisher import Publisher
from learnloop_shared.kafka.runner import ConsumerRunner
from learnloop_shared.settings import ServiceSettings, Topics

from ..helpers import eventually, local_settings, read_all

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def user(uid: str, name: str, version: int) -> DirectoryUserChanged:
    return DirectoryUserChanged(user_id=uid, name=name, email=f"{uid}@example.com", version=version, changed_at=T0)


def team_parts(
    tid: str, version: int, members: list[str], per_part: int = 2000, **fields
) -> list[DirectoryTeamChanged]:
    chunks = [members[i : i + per_part] for i in range(0, len(members), per_part)] or [[]]
    return [
        DirectoryTeamChanged(
            team_id=tid,
            name=fields.get("name", f"Team {tid}"),
            teams=tuple(fields.get("teams", ())),
            managers=tuple(fields.get("managers", ())),
            members=tuple(chunk),
            members_total=len(members),
            part=n,
            parts=len(chunks),
            version=version,
            changed_at=T0,
        )
        for n, chunk in enumerate(chunks)
    ]


async def test_directory_events_build_learns_copy(infra, mongo, make_topics, unique):
    topic, dlq = f"directory-{unique}", f"dlq-{unique}"
    await make_topics(topic, dlq)
    db = mongo[f"learn_{unique}"]
    copy = DirectoryCopy(db)
    await copy.ensure_indexes()
    settings = local_settings(
        ServiceSettings, infra, service_name=f"learn-{unique}", data_dir=Path(tempfile.mkdtemp(prefix="faust-"))
    )
    deps = SimpleNamespace(
        on_directory=DirectoryHandlers(KeepDirectory(copy)),
        on_shares=SimpleNamespace(on_published=None, on_revised=None, on_retracted=None, on_built_on=None),
        on_deliveries=SimpleNamespace(on_delivered=None),
        xapi=SimpleNamespace(on_learning=SimpleNamespace(on_learning=None)),  # not consumed here
    )
    rt = SimpleNamespace(settings=SimpleNamespace(topics=Topics(directory=topic)))
    [spec] = [s for s in consumers(rt, deps) if s.name == "directory"]  # type: ignore[arg-type]
    publisher = Publisher(settings)
    await publisher.start()
    worker = ConsumerRunner(settings, [spec], DeadLetters(publisher, dlq, "/test"))
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()

    async def send(*events: EventData) -> None:
        for data in events:
            key = getattr(data, "team_id", None) or data.user_id  # type: ignore[attr-defined]
            await producer.send_and_wait(topic, encode(make_event(data, source="/test")), key=key.encode())

    async def teams_of(uid: str) -> list[str]:
        doc = await db["memberships"].find_one({"_id": uid})
        return sorted(doc["teams"]) if doc else []

    async def members(tid: str) -> set[str]:
        return await copy.members_of(tid)

    async def team(tid: str) -> dict:
        return await db["dir_teams"].find_one({"_id": tid}) or {}

    ann, bob, cat, dan = (f"{n}-{unique}" for n in ("ann", "bob", "cat", "dan"))
    eng, ops, big = f"eng-{unique}", f"ops-{unique}", f"big-{unique}"
    try:
        await worker.start()
        # Users: the highest version wins, whatever the order; a replay changes nothing.
        await send(user(ann, "Ann 2", 2), user(ann, "Ann 1", 1), user(bob, "Bob", 1), user(ann, "Ann 2 again", 2))

        async def users_stored():
            return await db["dir_users"].count_documents({"_id": {"$in": [ann, bob]}}) == 2

        await eventually(users_stored)
        assert await db["dir_users"].find_one({"_id": ann}) == {
            "_id": ann,
            "name": "Ann 2",
            "email": f"{ann}@example.com",
            "version": 2,
        }

        # A team in three parts applies only once the last part is stored (parts may come in any order).
        p0, p1, p2 = team_parts(eng, 1, [ann, bob, cat], per_part=1, teams=[ops], managers=[dan])
        await send(p0, p2, user(dan, "Dan", 1))  # a later event on the topic shows when these were handled

        async def dan_stored():
            return await db["dir_users"].find_one({"_id": dan}) is not None

        await eventually(dan_stored)
        assert await team(eng) == {} and await members(eng) == set()
        await send(p1)

        async def eng_v1():
            return (await team(eng)).get("version") == 1

        await eventually(eng_v1)
        assert await members(eng) == {ann, bob, cat}
        doc = await team(eng)
        assert (doc["name"], doc["teams"], doc["managers"], doc["members_total"]) == (f"Team {eng}", [ops], [dan], 3)
        assert await db["dir_team_parts"].count_documents({"team_id": eng}) == 0  # staging cleared

        # Another team shares a member; version 2 of eng: cat leaves, dan joins (a diff, not a rewrite).
        await send(*team_parts(ops, 1, [cat, dan]))
        await send(*team_parts(eng, 2, [ann, bob, dan], per_part=2, teams=[ops], managers=[dan]))

        async def eng_v2():
            return (await team(eng)).get("version") == 2 and (await team(ops)).get("version") == 1

        await eventually(eng_v2)
        assert await members(eng) == {ann, bob, dan} and await members(ops) == {cat, dan}
        assert (await teams_of(cat), await teams_of(dan)) == ([ops], sorted([eng, ops]))

        # Late and replayed events: version 1 again (complete, older) and version 2 again change nothing.
        await send(*team_parts(eng, 1, [ann, bob, cat], per_part=1, teams=[ops]))
        await send(*team_parts(eng, 2, [ann, bob, dan], per_part=2, teams=[ops], managers=[dan]))
        # Version 4 arrives whole before the parts of version 3: 3 is never applied over it.
        await send(*team_parts(eng, 4, [bob], name="Engineering"))
        await send(*team_parts(eng, 3, [ann, cat, dan], per_part=1))
        await send(user(f"marker-{unique}", "M", 1))

        async def marker():
            return await db["dir_users"].find_one({"_id": f"marker-{unique}"}) is not None

        await eventually(marker)
        doc = await team(eng)
        assert (doc["version"], doc["name"], doc["managers"]) == (4, "Engineering", [])
        assert await members(eng) == {bob}
        assert await teams_of(ann) == [] and await db["memberships"].find_one({"_id": ann}) is None  # no team left
        assert await teams_of(dan) == [ops]
        assert await db["dir_team_parts"].count_documents({"team_id": eng}) == 0

        # A team of 5,000 members comes in 3 parts; an event the copy cannot hold is dead-lettered.
        crowd = [f"m{i:05d}-{unique}" for i in range(5000)]
        await send(*team_parts(big, 1, crowd))
        too_big = team_parts(f"huge-{unique}", 1, [ann])[0].model_copy(update={"parts": 40, "part": 0})
        await send(too_big)

        async def big_v1():
            return (await team(big)).get("version") == 1

        await eventually(big_v1, timeout=60)
        assert await members(big) == set(crowd)
        [letter] = await read_all(infra, dlq, expect=1)
        assert b"at most 50000 members" in letter.value
        assert await team(f"huge-{unique}") == {}
    finally:
        await worker.stop()
        await producer.stop()
        await publisher.stop()


def part(tid: str, version: int, members: list[str], n: int, parts: int) -> TeamPart:
    return TeamPart(tid, "T", (), (), tuple(members), 0, n, parts, version, T0)


async def test_a_version_applied_halfway_finishes_when_its_events_come_again(mongo, unique):
    copy = DirectoryCopy(mongo[f"learn_dir_{unique}"])
    await copy.ensure_indexes()
    keep = KeepDirectory(copy)
    t = f"t-{unique}"
    await keep.teams_changed([part(t, 1, ["a", "b"], 0, 2), part(t, 1, ["c"], 1, 2)])
    assert await copy.members_of(t) == {"a", "b", "c"} and await copy.team_version(t) == 1

    # Version 2 (c, d) crashed after adding d, before removing a and b and before recording the version.
    await copy.change_memberships(t, ["d"], [])
    v2 = [part(t, 2, ["c"], 0, 2), part(t, 2, ["d"], 1, 2)]
    await keep.teams_changed(v2)  # redelivered after the restart
    assert await copy.members_of(t) == {"c", "d"} and await copy.team_version(t) == 2

    # Parts of version 3 wait; a complete version 4 drops them, and version 3 never applies after it.
    await keep.teams_changed([part(t, 3, ["x"], 0, 2)])
    assert await copy.parts.count_documents({"team_id": t}) == 1
    await keep.teams_changed([part(t, 4, ["e"], 0, 1)])
    await keep.teams_changed([part(t, 3, ["y"], 1, 2)])
    assert await copy.members_of(t) == {"e"} and await copy.team_version(t) == 4
    assert await copy.parts.count_documents({"team_id": t}) == 0
