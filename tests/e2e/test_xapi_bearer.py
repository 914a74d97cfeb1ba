"""The LRS with a Bearer token over real sockets: a statement posted is read back by id, with the user as its
authority; a request without the version header is 400 and still carries the header."""

from __future__ import annotations

import uuid

V = {"X-Experience-API-Version": "1.0.3"}


async def test_post_and_get_a_statement(api) -> None:  # type: ignore[no-untyped-def]
    headers = {**api.auth("xapi-tool", "xapi:read", "xapi:write"), **V}
    sid = str(uuid.uuid4())
    statement = {
        "id": sid,
        "actor": {"mbox": "mailto:ann@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "http://example.com/activities/a"},
    }
    r = await api.learn.post("/xapi/statements", json=statement, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == [sid]
    assert r.headers["X-Experience-API-Version"] == "1.0.3"
    r = await api.learn.get("/xapi/statements", params={"statementId": sid}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["actor"] == statement["actor"]
    assert r.json()["authority"]["account"]["name"] == "xapi-tool"
    r = await api.learn.get("/xapi/statements", params={"statementId": sid}, headers=api.auth("xapi-tool", "xapi:read"))
    assert r.status_code == 400 and r.headers["X-Experience-API-Version"] == "2.0.0"
