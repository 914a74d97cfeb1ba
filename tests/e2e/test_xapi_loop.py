"""The loop through xAPI over the real stack: statements another tool posts reach the author's feedback and
digest as acknowledgements; acknowledgements made with Learnloop's API are statements in the LRS.

``test_ours_are_found_with_the_activity_filter`` needs ``GET /xapi/statements`` with filters (the
statements helper's part of issue 14): it passes once that is merged.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from learnloop_learn.domain.checks import attempt_id
from learnloop_learn.domain.xapi.loop import share_activity_id, statement_id

from ..helpers import eventually
from .test_checks import CHECKS, attempt, ready
from .test_follow_through import ack, feedback, people, publish
from .test_loop import inbox

V = {"X-Experience-API-Version": "1.0.3"}
ADMIN = ("directory:write",)


def statement(verb: str, obj: str, actor: dict[str, Any]) -> dict[str, Any]:
    return {"actor": actor, "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"}, "object": {"id": obj}}


async def post(api, who: str, s: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    r = await api.learn.post("/xapi/statements", json=s, headers={**api.auth(who, "xapi:write"), **V})
    assert r.status_code == 200, r.text
    [sid] = r.json()
    return str(sid)


async def test_statements_from_a_tool_reach_the_authors_feedback_and_digest(api, unique):  # type: ignore[no-untyped-def]
    ids = await people(api, unique, "ann", "bob", "tool")
    ann, bob, tool = ids["ann"], ids["bob"], ids["tool"]
    email = f"Bob.{unique}@Example.com"
    r = await api.share.put(f"/v1/users/{bob}", json={"name": bob, "email": email}, headers=api.auth("admin", *ADMIN))
    assert r.status_code == 200, r.text
    url = f"https://wiki.example.com/{unique}"
    sid = await publish(api, ann, [bob], url=url)
    activity = share_activity_id(api.stack.url("learn").rstrip("/"), sid)
    bob_account = {"objectType": "Agent", "account": {"homePage": api.stack.url("learn").rstrip("/"), "name": bob}}

    # A verb that maps to nothing: stored, nothing else.
    await post(api, tool, statement("attempted", activity, bob_account))
    # completed on the share's activity, by bob's account: learned, counted once however often it is said.
    await post(api, tool, statement("completed", activity, bob_account))
    await post(api, tool, statement("completed", activity, bob_account))

    async def learned() -> dict[str, Any] | None:
        fb = await feedback(api, sid, ann)
        return fb if fb["learned"] == 1 else None

    fb = await eventually(learned)
    assert (fb["opened"], fb["learned"], fb["applied"], fb["completed"]) == (0, 1, 0, 1)

    # experienced on the share's url, by bob's mbox (any case): opened. learn's copy of the directory may not
    # have bob's email yet: a statement taken in before it is ignored, so the tool says it again until then.
    async def opened() -> bool:
        await post(api, tool, statement("experienced", url, {"mbox": f"mailto:{email.lower()}"}))
        return (await feedback(api, sid, ann))["opened"] == 1

    await eventually(opened, timeout=20, interval=0.5)
    fb = await feedback(api, sid, ann)
    assert (fb["opened"], fb["learned"], fb["applied"]) == (1, 1, 0)

    # The author hears of it as of any acknowledgement: the first learner at once, the rest in a digest.
    async def told() -> list[str]:
        texts = [n["text"] for n in (await inbox(api, ann))["items"] if n["share_id"] == sid]
        first = any("reached its first learner" in t and bob in t for t in texts)
        digest = any(re.search(r"1 opened", t) for t in texts)
        return texts if first and digest else []

    await eventually(told, timeout=20)

    # bob's own acknowledgement through the API is a statement in the LRS; the ones that came from
    # statements are not written again.
    r = await ack(api, sid, bob, "applied")
    assert r.status_code == 201, r.text
    applied_id = statement_id(f"ack:{r.json()['id']}")
    reader = {**api.auth(f"reader-{unique}", "xapi:read"), **V}

    async def in_the_lrs() -> dict[str, Any] | None:
        r = await api.learn.get("/xapi/statements", params={"statementId": applied_id}, headers=reader)
        return r.json() if r.status_code == 200 else None

    s = await eventually(in_the_lrs)
    assert s["verb"]["id"] == "http://activitystrea.ms/schema/1.0/use"
    assert s["actor"]["account"] == bob_account["account"]
    assert s["object"]["id"] == activity and s["object"]["definition"]["moreInfo"] == url
    # The learned acknowledgement came before it on the same partition: it made no statement of its own.
    learned_id = statement_id(f"ack:{sid}|{bob}|learned")
    r = await api.learn.get("/xapi/statements", params={"statementId": learned_id}, headers=reader)
    assert r.status_code == 404, r.text


async def test_ours_are_found_with_the_activity_filter(api, unique):  # type: ignore[no-untyped-def]
    ids = await people(api, unique, "ann", "bob")
    sid = await publish(api, ids["ann"], [ids["bob"]])
    assert (await ack(api, sid, ids["bob"], "opened")).status_code == 201
    assert (await ack(api, sid, ids["bob"], "rated", rating=4)).status_code == 201
    activity = share_activity_id(api.stack.url("learn").rstrip("/"), sid)
    reader = {**api.auth(f"reader-{unique}", "xapi:read"), **V}

    async def listed() -> list[dict[str, Any]]:
        r = await api.learn.get("/xapi/statements", params={"activity": activity}, headers=reader)
        assert r.status_code == 200, r.text
        found = r.json()["statements"]
        return found if len(found) == 2 else []

    found = await eventually(listed)
    assert {s["verb"]["id"] for s in found} == {
        "http://adlnet.gov/expapi/verbs/experienced",
        "http://id.tincanapi.com/verb/rated",
    }
    assert all(s["actor"]["account"]["name"] == ids["bob"] for s in found)
    assert all(uuid.UUID(s["id"]) for s in found)


async def test_a_knowledge_check_the_statement_cannot_skip_and_attempts_in_the_lrs(api, unique):  # type: ignore[no-untyped-def]
    ids = await people(api, unique, "ann", "bob", "tool")
    ann, bob = ids["ann"], ids["bob"]
    sid = await publish(api, ann, [bob], checks=CHECKS, pass_mark=1.0, max_attempts=2)
    await ready(api, sid, bob)
    home = api.stack.url("learn").rstrip("/")
    activity = share_activity_id(home, sid)
    bob_account = {"objectType": "Agent", "account": {"homePage": home, "name": bob}}
    reader = {**api.auth(f"reader-{unique}", "xapi:read"), **V}

    # A tool says bob completed it: refused, the knowledge check is not passed (the statement is stored).
    said = await post(api, ids["tool"], statement("completed", activity, bob_account))
    r = await api.learn.get("/xapi/statements", params={"statementId": said}, headers=reader)
    assert r.status_code == 200, r.text
    assert (await feedback(api, sid, ann))["learned"] == 0

    assert (await attempt(api, sid, bob, [1, 0])).json()["passed"] is False
    assert (await attempt(api, sid, bob, [1, 1])).json()["passed"] is True

    async def read(name: str) -> dict[str, Any] | None:
        r = await api.learn.get("/xapi/statements", params={"statementId": statement_id(name)}, headers=reader)
        return r.json() if r.status_code == 200 else None

    failed = await eventually(lambda: read(f"check:{attempt_id(sid, bob, 1)}"))
    assert failed["verb"]["id"] == "http://adlnet.gov/expapi/verbs/failed"
    assert failed["result"]["success"] is False and failed["result"]["score"]["scaled"] == 0.5
    passed = await eventually(lambda: read(f"check:{attempt_id(sid, bob, 2)}"))
    assert passed["verb"]["id"] == "http://adlnet.gov/expapi/verbs/passed" and passed["result"]["score"]["raw"] == 2
    learned = await eventually(lambda: read(f"ack:{sid}|{bob}|learned"))  # passing records learned
    assert learned["verb"]["id"] == "http://adlnet.gov/expapi/verbs/completed"
