"""The Statement resource over the real stack (xAPI Communication 2.1, Data 2.3-2.6), for 1.0.3 and 2.0.0.

Each test is named after the requirement it checks; every test uses its own activity ids, agents and
registrations, so it sees only its own statements in the shared session stack.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

VERSIONS = ("1.0.3", "2.0.0")
pytestmark = pytest.mark.parametrize("version", VERSIONS)
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


class Lrs:
    def __init__(self, api: Any, version: str) -> None:
        self.api = api
        self.version = version
        self.tag = uuid.uuid4().hex[:10]
        self.headers = {**api.auth(f"lrs-{self.tag}", "xapi:read", "xapi:write"), "X-Experience-API-Version": version}

    def activity(self, name: str = "a") -> str:
        return f"http://example.com/{self.tag}/activities/{name}"

    def agent(self, name: str = "ann") -> dict[str, Any]:
        return {"objectType": "Agent", "mbox": f"mailto:{name}-{self.tag}@example.com"}

    def statement(self, activity: str = "a", **extra: Any) -> dict[str, Any]:
        s: dict[str, Any] = {
            "actor": self.agent(),
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
            "object": {"objectType": "Activity", "id": self.activity(activity)},
        }
        s.update(extra)
        return s

    async def post(self, body: Any, **headers: str) -> Any:
        return await self.api.learn.post("/xapi/statements", json=body, headers={**self.headers, **headers})

    async def put(self, sid: str, body: Any) -> Any:
        return await self.api.learn.put(
            "/xapi/statements", params={"statementId": sid}, json=body, headers=self.headers
        )

    async def get(self, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return await self.api.learn.get("/xapi/statements", params=params, headers={**self.headers, **(headers or {})})

    async def ids(self, **params: Any) -> list[str]:
        r = await self.get(**params)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["statements"]]


@pytest.fixture
def lrs(api: Any, version: str) -> Lrs:
    return Lrs(api, version)


# Communication 2.1.1 PUT Statements


async def test_put_stores_the_statement_and_answers_204(lrs: Lrs) -> None:
    sid = str(uuid.uuid4())
    r = await lrs.put(sid, lrs.statement())
    assert r.status_code == 204, r.text
    assert r.headers["X-Experience-API-Version"] == lrs.version
    r = await lrs.get(statementId=sid)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["id"] == sid and got["object"]["id"] == lrs.activity()
    assert "stored" in got and "timestamp" in got and "authority" in got


async def test_put_without_statement_id_is_400(lrs: Lrs) -> None:
    r = await lrs.api.learn.put("/xapi/statements", json=lrs.statement(), headers=lrs.headers)
    assert r.status_code == 400, r.text


async def test_put_with_a_statement_id_that_differs_from_the_body_id_is_400(lrs: Lrs) -> None:
    r = await lrs.put(str(uuid.uuid4()), lrs.statement(id=str(uuid.uuid4())))
    assert r.status_code == 400, r.text


async def test_put_of_the_same_statement_again_is_204_and_changes_nothing(lrs: Lrs) -> None:
    sid = str(uuid.uuid4())
    s = lrs.statement(timestamp="2026-01-02T03:04:05.678Z")
    assert (await lrs.put(sid, s)).status_code == 204
    first = (await lrs.get(statementId=sid)).json()
    # The same statement in another representation: upper-case id, another time zone, another precision.
    again = {**s, "id": sid.upper(), "timestamp": "2026-01-02T04:04:05.678000+01:00"}
    r = await lrs.put(sid, again)
    assert r.status_code == 204, r.text
    assert (await lrs.get(statementId=sid)).json() == first


async def test_put_of_a_different_statement_under_a_stored_id_is_409_and_keeps_the_first(lrs: Lrs) -> None:
    sid = str(uuid.uuid4())
    assert (await lrs.put(sid, lrs.statement())).status_code == 204
    other = lrs.statement()
    other["verb"] = {"id": "http://adlnet.gov/expapi/verbs/completed"}
    r = await lrs.put(sid, other)
    assert r.status_code == 409, r.text
    r = await lrs.post({**other, "id": sid})
    assert r.status_code == 409, r.text
    got = (await lrs.get(statementId=sid)).json()
    assert got["verb"]["id"] == "http://adlnet.gov/expapi/verbs/experienced"


# Communication 2.1.2 POST Statements


async def test_post_of_one_statement_answers_200_with_its_id(lrs: Lrs) -> None:
    r = await lrs.post(lrs.statement())
    assert r.status_code == 200, r.text
    ids = r.json()
    assert isinstance(ids, list) and len(ids) == 1
    uuid.UUID(ids[0])


async def test_post_of_a_list_answers_the_ids_in_order(lrs: Lrs) -> None:
    given = str(uuid.uuid4())
    r = await lrs.post([lrs.statement("x"), lrs.statement("y", id=given), lrs.statement("z")])
    assert r.status_code == 200, r.text
    ids = r.json()
    assert len(ids) == 3 and ids[1] == given
    for sid, name in zip(ids, "xyz", strict=True):
        assert (await lrs.get(statementId=sid)).json()["object"]["id"] == lrs.activity(name)


async def test_post_of_a_batch_with_the_same_id_twice_is_400_and_stores_nothing(lrs: Lrs) -> None:
    sid = str(uuid.uuid4())
    r = await lrs.post([lrs.statement(id=sid), lrs.statement("b", id=sid)])
    assert r.status_code == 400, r.text
    assert (await lrs.get(statementId=sid)).status_code == 404


async def test_post_of_a_batch_with_a_conflict_is_409_and_stores_nothing_of_it(lrs: Lrs) -> None:
    sid = str(uuid.uuid4())
    assert (await lrs.put(sid, lrs.statement())).status_code == 204
    fresh = str(uuid.uuid4())
    conflicting = lrs.statement("other", id=sid)
    r = await lrs.post([lrs.statement("new", id=fresh), conflicting])
    assert r.status_code == 409, r.text
    assert (await lrs.get(statementId=fresh)).status_code == 404


async def test_post_of_only_statements_stored_before_is_204_and_changes_nothing(lrs: Lrs) -> None:
    """ADL suite (Communication 2.1.1): a statement PUT, then POSTed again, answers 409 or 204."""
    s = lrs.statement(id=str(uuid.uuid4()))
    assert (await lrs.put(s["id"], s)).status_code == 204
    r = await lrs.post(s)
    assert r.status_code == 204, r.text
    assert r.headers["X-Experience-API-Version"] == lrs.version
    assert await lrs.ids(activity=lrs.activity()) == [s["id"]]


async def test_post_of_stored_statements_again_is_200_and_stores_the_new_ones(lrs: Lrs) -> None:
    old = lrs.statement(id=str(uuid.uuid4()))
    assert (await lrs.post(old)).status_code == 200
    new = lrs.statement("n", id=str(uuid.uuid4()))
    r = await lrs.post([old, new])
    assert r.status_code == 200, r.text
    assert r.json() == [old["id"], new["id"]]
    assert (await lrs.get(statementId=new["id"])).status_code == 200


async def test_statement_comparison_ignores_group_member_order_and_activity_definitions(lrs: Lrs) -> None:
    sid = str(uuid.uuid4())
    group = {"objectType": "Group", "member": [lrs.agent("a"), lrs.agent("b")]}
    s = lrs.statement(actor=group)
    s["object"]["definition"] = {"name": {"en-US": "A"}}
    assert (await lrs.put(sid, s)).status_code == 204
    again = json.loads(json.dumps(s))
    again["actor"]["member"].reverse()
    again["object"]["definition"] = {"name": {"en-US": "renamed"}}
    assert (await lrs.put(sid, again)).status_code == 204


async def test_a_body_that_is_neither_json_nor_multipart_is_400(lrs: Lrs) -> None:
    r = await lrs.api.learn.post(
        "/xapi/statements",
        content=json.dumps(lrs.statement()),
        headers={**lrs.headers, "Content-Type": "text/plain"},
    )
    assert r.status_code == 400, r.text


async def test_a_body_that_is_not_json_is_400(lrs: Lrs) -> None:
    r = await lrs.api.learn.post(
        "/xapi/statements", content=b"{nope", headers={**lrs.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text


# Communication 2.1.3 GET Statements


async def test_get_with_an_unknown_parameter_is_400(lrs: Lrs) -> None:
    r = await lrs.get(nonsense="1")
    assert r.status_code == 400, r.text


async def test_get_by_statement_id_with_a_filter_is_400_but_format_and_attachments_are_allowed(lrs: Lrs) -> None:
    sid = (await lrs.post(lrs.statement())).json()[0]
    assert (await lrs.get(statementId=sid, verb="http://adlnet.gov/expapi/verbs/experienced")).status_code == 400
    assert (await lrs.get(statementId=sid, format="ids", attachments="false")).status_code == 200


async def test_get_of_an_unknown_statement_id_is_404(lrs: Lrs) -> None:
    assert (await lrs.get(statementId=str(uuid.uuid4()))).status_code == 404


async def test_get_with_bad_parameter_values_is_400(lrs: Lrs) -> None:
    for params in (
        {"limit": "-1"},
        {"limit": "ten"},
        {"ascending": "yes"},
        {"format": "full"},
        {"since": "yesterday"},
        {"agent": "not json"},
        {"agent": json.dumps({"objectType": "Group", "member": []})},
        {"registration": "not-a-uuid"},
        {"statementId": "not-a-uuid"},
        {"cursor": "garbage"},
    ):
        r = await lrs.get(**params)
        assert r.status_code == 400, (params, r.text)


async def test_the_agent_filter_matches_actor_object_and_group_members(lrs: Lrs) -> None:
    bob = lrs.agent("bob")
    as_actor = (await lrs.post(lrs.statement(actor=bob))).json()[0]
    as_object = (await lrs.post(lrs.statement(object=bob))).json()[0]
    in_group = (await lrs.post(lrs.statement(actor={"objectType": "Group", "member": [bob]}))).json()[0]
    as_instructor = (await lrs.post(lrs.statement(context={"instructor": bob}))).json()[0]
    found = await lrs.ids(agent=json.dumps(bob))
    assert set(found) == {as_actor, as_object, in_group}
    related = await lrs.ids(agent=json.dumps(bob), related_agents="true")
    assert set(related) == {as_actor, as_object, in_group, as_instructor}
    authority = (await lrs.get(statementId=as_actor)).json()["authority"]
    assert as_actor not in await lrs.ids(agent=json.dumps(authority))
    assert as_actor in await lrs.ids(agent=json.dumps(authority), related_agents="true")


async def test_the_verb_activity_and_registration_filters_match_exactly(lrs: Lrs) -> None:
    reg = str(uuid.uuid4())
    a = (await lrs.post(lrs.statement("one", context={"registration": reg}))).json()[0]
    completed = lrs.statement("one")
    completed["verb"] = {"id": f"http://example.com/{lrs.tag}/verbs/completed"}
    b = (await lrs.post(completed)).json()[0]
    parent = lrs.statement("two", context={"contextActivities": {"parent": [{"id": lrs.activity("one")}]}})
    c = (await lrs.post(parent)).json()[0]
    assert await lrs.ids(verb=completed["verb"]["id"]) == [b]
    assert set(await lrs.ids(activity=lrs.activity("one"))) == {a, b}
    assert set(await lrs.ids(activity=lrs.activity("one"), related_activities="true")) == {a, b, c}
    assert await lrs.ids(registration=reg.upper()) == [a]
    assert await lrs.ids(activity=lrs.activity("one"), verb=completed["verb"]["id"]) == [b]


async def test_since_and_until_select_by_stored_and_ascending_reverses_the_order(lrs: Lrs) -> None:
    ids = []
    for _ in range(3):
        ids.append((await lrs.post(lrs.statement())).json()[0])
    stored = [(await lrs.get(statementId=i)).json()["stored"] for i in ids]
    act = lrs.activity()
    assert await lrs.ids(activity=act) == ids[::-1]
    assert await lrs.ids(activity=act, ascending="true") == ids
    assert (
        await lrs.ids(activity=act, since=stored[0])
        == [i for i, s in zip(ids, stored, strict=True) if s > stored[0]][::-1]
    )
    assert ids[0] in await lrs.ids(activity=act, until=stored[0])
    assert ids[2] not in await lrs.ids(activity=act, until=stored[0]) or stored[2] == stored[0]


async def test_limit_and_more_page_through_every_statement_once_even_with_inserts_between(lrs: Lrs) -> None:
    posted = (await lrs.post([lrs.statement() for _ in range(5)])).json()
    r = await lrs.get(activity=lrs.activity(), limit=2)
    body = r.json()
    seen = [s["id"] for s in body["statements"]]
    assert len(seen) == 2 and body["more"].startswith("/xapi/statements?")
    await lrs.post(lrs.statement())  # a newer statement does not shift the pages
    while body["more"]:
        r = await lrs.api.learn.get(body["more"], headers=lrs.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [s["id"] for s in body["statements"]]
    assert sorted(seen) == sorted(posted)


async def test_limit_zero_means_the_server_maximum(lrs: Lrs) -> None:
    posted = (await lrs.post([lrs.statement() for _ in range(3)])).json()
    assert set(await lrs.ids(activity=lrs.activity(), limit=0)) == set(posted)


async def test_an_empty_result_has_no_more(lrs: Lrs) -> None:
    r = await lrs.get(activity=lrs.activity("none"))
    assert r.json() == {"statements": [], "more": ""}


async def test_format_ids_keeps_only_identifiers(lrs: Lrs) -> None:
    s = lrs.statement()
    s["actor"]["name"] = "Ann"
    s["object"]["definition"] = {"name": {"en-US": "A"}}
    sid = (await lrs.post(s)).json()[0]
    got = (await lrs.get(statementId=sid, format="ids")).json()
    assert got["actor"] == {"objectType": "Agent", "mbox": s["actor"]["mbox"]}
    assert got["verb"] == {"id": s["verb"]["id"]}
    assert got["object"] == {"objectType": "Activity", "id": lrs.activity()}


async def test_format_canonical_keeps_one_language_chosen_by_accept_language(lrs: Lrs) -> None:
    s = lrs.statement()
    s["verb"]["display"] = {"en-US": "experienced", "fr-FR": "a vécu", "de": "erlebte"}
    s["object"]["definition"] = {"name": {"en-US": "A", "fr-FR": "Un"}}
    sid = (await lrs.post(s)).json()[0]
    r = await lrs.get(headers={"Accept-Language": "fr;q=0.9, de;q=0.5"}, statementId=sid, format="canonical")
    got = r.json()
    assert got["verb"]["display"] == {"fr-FR": "a vécu"}
    assert got["object"]["definition"]["name"] == {"fr-FR": "Un"}
    exact = (await lrs.get(statementId=sid)).json()
    assert exact["verb"]["display"] == s["verb"]["display"]


async def test_every_get_carries_consistent_through_and_last_modified(lrs: Lrs) -> None:
    before = datetime.now(UTC)
    sid = (await lrs.post(lrs.statement())).json()[0]
    r = await lrs.get(activity=lrs.activity())
    through = datetime.fromisoformat(r.headers["X-Experience-API-Consistent-Through"].replace("Z", "+00:00"))
    assert through > before - timedelta(minutes=1)
    stored = datetime.fromisoformat((await lrs.get(statementId=sid)).json()["stored"].replace("Z", "+00:00"))
    assert parsedate_to_datetime(r.headers["Last-Modified"]) == stored.replace(microsecond=0)
    assert r.headers["Content-Type"].startswith("application/json")


async def test_consistent_through_is_not_before_any_returned_stored(lrs: Lrs) -> None:
    await lrs.post([lrs.statement() for _ in range(3)])
    r = await lrs.get(activity=lrs.activity())
    through = r.headers["X-Experience-API-Consistent-Through"]
    assert all(s["stored"] <= through for s in r.json()["statements"])


async def test_consistent_through_comes_with_refusals_too(lrs: Lrs) -> None:
    r = await lrs.api.learn.get("/xapi/statements")
    assert r.status_code == 400
    datetime.fromisoformat(r.headers["X-Experience-API-Consistent-Through"].replace("Z", "+00:00"))
    assert "X-Experience-API-Consistent-Through" in (await lrs.get(statementId=str(uuid.uuid4()))).headers


async def test_get_without_attachments_answers_plain_application_json(lrs: Lrs) -> None:
    sid = (await lrs.post(lrs.statement())).json()[0]
    r = await lrs.get(statementId=sid, attachments="false")
    assert r.headers["Content-Type"] == "application/json"


async def test_head_answers_the_headers_of_get_without_a_body(lrs: Lrs) -> None:
    sid = (await lrs.post(lrs.statement())).json()[0]
    r = await lrs.api.learn.head("/xapi/statements", params={"statementId": sid}, headers=lrs.headers)
    assert r.status_code == 200 and r.content == b""
    assert "X-Experience-API-Consistent-Through" in r.headers and "Last-Modified" in r.headers
    r = await lrs.api.learn.head("/xapi/statements", params={"statementId": str(uuid.uuid4())}, headers=lrs.headers)
    assert r.status_code == 404
    r = await lrs.api.learn.head("/xapi/statements", params={"activity": lrs.activity()}, headers=lrs.headers)
    assert r.status_code == 200 and r.content == b""


async def test_reading_needs_a_read_scope(lrs: Lrs) -> None:
    headers = {**lrs.api.auth("writer", "xapi:write"), "X-Experience-API-Version": lrs.version}
    r = await lrs.api.learn.get("/xapi/statements", params={"activity": lrs.activity()}, headers=headers)
    assert r.status_code == 403


# Data 2.3.2 Voiding


async def test_a_voided_statement_is_found_only_by_voided_statement_id(lrs: Lrs) -> None:
    target = (await lrs.post(lrs.statement())).json()[0]
    voiding = lrs.statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target})
    vid = (await lrs.post(voiding)).json()[0]
    assert (await lrs.get(statementId=target)).status_code == 404
    r = await lrs.get(voidedStatementId=target)
    assert r.status_code == 200 and r.json()["id"] == target
    assert (await lrs.get(voidedStatementId=vid)).status_code == 404
    assert (await lrs.get(statementId=vid)).status_code == 200
    # Filters never return the voided statement; the voiding one matches through its StatementRef.
    assert await lrs.ids(activity=lrs.activity()) == [vid]
    assert await lrs.ids(verb=VOIDED, agent=json.dumps(lrs.agent())) == [vid]


async def test_voiding_a_voiding_statement_has_no_effect(lrs: Lrs) -> None:
    target = (await lrs.post(lrs.statement())).json()[0]
    vid = (
        await lrs.post(lrs.statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target}))
    ).json()[0]
    r = await lrs.post(lrs.statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": vid}))
    assert r.status_code == 200, r.text
    assert (await lrs.get(statementId=vid)).status_code == 200


async def test_a_statement_voided_in_the_same_batch_is_voided(lrs: Lrs) -> None:
    target = str(uuid.uuid4())
    voiding = lrs.statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target})
    assert (await lrs.post([lrs.statement(id=target), voiding])).status_code == 200
    assert (await lrs.get(statementId=target)).status_code == 404
    assert (await lrs.get(voidedStatementId=target)).status_code == 200


# Communication 2.1.3 Filter Conditions for StatementRefs


async def test_a_statement_that_targets_a_matching_statement_meets_the_filter(lrs: Lrs) -> None:
    target = (await lrs.post(lrs.statement("t"))).json()[0]
    ref = lrs.statement(object={"objectType": "StatementRef", "id": target}, actor=lrs.agent("zed"))
    rid = (await lrs.post(ref)).json()[0]
    assert set(await lrs.ids(activity=lrs.activity("t"))) == {target, rid}
    # Both conditions on the same statement: the target's activity and the referencing statement's agent.
    assert await lrs.ids(activity=lrs.activity("t"), agent=json.dumps(lrs.agent("zed"))) == []


# Data 2.4.11 Attachments


def _multipart(parts: list[tuple[dict[str, str], bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for headers, body in parts:
        out += f"--{boundary}\r\n".encode()
        out += "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
        out += b"\r\n" + body + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/mixed; boundary={boundary}"


def _attachment(content: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    import hashlib

    sha2 = hashlib.sha256(content).hexdigest()
    declared = {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": "text/plain",
        "length": len(content),
        "sha2": sha2,
    }
    part = {"Content-Type": "text/plain", "Content-Transfer-Encoding": "binary", "X-Experience-API-Hash": sha2}
    return declared, part


async def _post_multipart(lrs: Lrs, statements: Any, parts: list[tuple[dict[str, str], bytes]]) -> Any:
    body, ctype = _multipart([({"Content-Type": "application/json"}, json.dumps(statements).encode()), *parts])
    return await lrs.api.learn.post("/xapi/statements", content=body, headers={**lrs.headers, "Content-Type": ctype})


async def test_attachments_sent_as_multipart_are_stored_and_returned_with_attachments_true(lrs: Lrs) -> None:
    content = f"here is a simple attachment {lrs.tag}\r\n--not a boundary\r\n".encode()
    declared, part = _attachment(content)
    r = await _post_multipart(lrs, lrs.statement(attachments=[declared]), [(part, content)])
    assert r.status_code == 200, r.text
    sid = r.json()[0]
    r = await lrs.get(statementId=sid, attachments="true")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("multipart/mixed; boundary=")
    boundary = r.headers["Content-Type"].split("boundary=")[1].encode()
    chunks = r.content.split(b"--" + boundary)
    first_head, first_body = chunks[1].split(b"\r\n\r\n", 1)
    assert json.loads(first_body.rstrip(b"\r\n"))["id"] == sid
    second_head, second_body = chunks[2].split(b"\r\n\r\n", 1)
    assert second_body[: -len(b"\r\n")] == content
    assert declared["sha2"].encode() in second_head
    r = await lrs.get(activity=lrs.activity(), attachments="true")
    assert r.status_code == 200 and content in r.content


async def test_a_multipart_body_with_lf_line_endings_is_read(lrs: Lrs) -> None:
    content = b"here is a simple attachment"
    declared, part = _attachment(content)
    statement = json.dumps(lrs.statement(attachments=[declared])).encode()
    head = "".join(f"{k}: {v}\n" for k, v in part.items()).encode()
    body = b"--b\nContent-Type: application/json\n\n" + statement + b"\n--b\n" + head + b"\n" + content + b"\n--b--\n"
    r = await lrs.api.learn.post(
        "/xapi/statements", content=body, headers={**lrs.headers, "Content-Type": "multipart/mixed; boundary=b"}
    )
    assert r.status_code == 200, r.text


async def test_an_attachment_without_file_url_needs_its_part(lrs: Lrs) -> None:
    declared, _ = _attachment(b"missing")
    assert (await lrs.post(lrs.statement(attachments=[declared]))).status_code == 400
    assert (await _post_multipart(lrs, lrs.statement(attachments=[declared]), [])).status_code == 400


async def test_an_attachment_with_file_url_needs_no_part(lrs: Lrs) -> None:
    declared, _ = _attachment(b"elsewhere")
    declared["fileUrl"] = "http://example.com/files/elsewhere.txt"
    assert (await lrs.post(lrs.statement(attachments=[declared]))).status_code == 200


async def test_a_part_no_statement_declares_is_400(lrs: Lrs) -> None:
    content = b"stray"
    _, part = _attachment(content)
    assert (await _post_multipart(lrs, lrs.statement(), [(part, content)])).status_code == 400


async def test_a_part_whose_content_does_not_match_its_hash_is_400(lrs: Lrs) -> None:
    declared, part = _attachment(b"the real content")
    r = await _post_multipart(lrs, lrs.statement(attachments=[declared]), [(part, b"other content")])
    assert r.status_code == 400, r.text


async def test_a_part_without_the_hash_header_is_400(lrs: Lrs) -> None:
    content = b"no hash"
    declared, part = _attachment(content)
    del part["X-Experience-API-Hash"]
    r = await _post_multipart(lrs, lrs.statement(attachments=[declared]), [(part, content)])
    assert r.status_code == 400, r.text


async def test_a_multipart_body_whose_first_part_is_not_json_is_400(lrs: Lrs) -> None:
    body, ctype = _multipart([({"Content-Type": "text/plain"}, json.dumps(lrs.statement()).encode())])
    r = await lrs.api.learn.post("/xapi/statements", content=body, headers={**lrs.headers, "Content-Type": ctype})
    assert r.status_code == 400, r.text


# Data 2.6 Signed Statements


def _signer() -> tuple[Any, str]:
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "learnloop test signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _signed(lrs: Lrs, payload: dict[str, Any], statement: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    import hashlib

    import jwt

    key, cert = _signer()
    token = jwt.api_jws.encode(json.dumps(payload).encode(), key, algorithm="RS256", headers={"x5c": [cert]})
    content = token.encode()
    sha2 = hashlib.sha256(content).hexdigest()
    statement = {
        **statement,
        "attachments": [
            {
                "usageType": "http://adlnet.gov/expapi/attachments/signature",
                "display": {"en-US": "Signature"},
                "contentType": "application/octet-stream",
                "length": len(content),
                "sha2": sha2,
            }
        ],
    }
    part = {
        "Content-Type": "application/octet-stream",
        "Content-Transfer-Encoding": "binary",
        "X-Experience-API-Hash": sha2,
    }
    return statement, (part, content)


async def test_a_signed_statement_whose_payload_matches_is_stored(lrs: Lrs) -> None:
    s = lrs.statement(id=str(uuid.uuid4()))
    statement, part = _signed(lrs, s, s)
    r = await _post_multipart(lrs, statement, [part])
    assert r.status_code == 200, r.text


async def test_a_signed_statement_whose_payload_differs_is_400(lrs: Lrs) -> None:
    s = lrs.statement(id=str(uuid.uuid4()))
    other = {**s, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    statement, part = _signed(lrs, other, s)
    r = await _post_multipart(lrs, statement, [part])
    assert r.status_code == 400, r.text


async def test_a_signature_that_is_not_a_jws_is_400(lrs: Lrs) -> None:
    s = lrs.statement()
    statement, (part, _) = _signed(lrs, s, s)
    content = b"not a jws"
    import hashlib

    statement["attachments"][0]["sha2"] = part["X-Experience-API-Hash"] = hashlib.sha256(content).hexdigest()
    r = await _post_multipart(lrs, statement, [(part, content)])
    assert r.status_code == 400, r.text


# Authentication and scopes (Communication 4): statements/read/mine


async def _credential(stack: Any, name: str, scopes: list[str]) -> dict[str, str]:
    import base64

    from learnloop_learn.storage.xapi.credentials import CredentialStore
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[Any] = AsyncMongoClient(stack.infra.mongo_url_for("learn"))
    try:
        doc, secret = await CredentialStore(client[f"{stack.db_prefix}_learn"]).create(
            name, scopes, "test", datetime.now(UTC)
        )
    finally:
        await client.close()
    token = base64.b64encode(f"{doc['_id']}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_a_credential_with_statements_read_mine_reads_only_what_it_wrote(lrs: Lrs, stack: Any) -> None:
    mine = {**await _credential(stack, "mine", ["statements/write", "statements/read/mine"])}
    mine["X-Experience-API-Version"] = lrs.version
    r = await lrs.api.learn.post("/xapi/statements", json=lrs.statement(), headers=mine)
    assert r.status_code == 200, r.text
    own = r.json()[0]
    other = (await lrs.post(lrs.statement())).json()[0]  # written by the Bearer caller
    r = await lrs.api.learn.get("/xapi/statements", params={"activity": lrs.activity()}, headers=mine)
    assert r.status_code == 200, r.text
    assert [s["id"] for s in r.json()["statements"]] == [own]
    assert r.json()["statements"][0]["authority"]["name"] == "mine"
    r = await lrs.api.learn.get("/xapi/statements", params={"statementId": other}, headers=mine)
    assert r.status_code == 404
    assert set(await lrs.ids(activity=lrs.activity())) == {own, other}


async def test_a_body_nested_too_deeply_is_400(lrs: Lrs) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    r = await lrs.api.learn.post(
        "/xapi/statements", content=body, headers={**lrs.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text


async def test_a_statement_nested_deeper_than_the_database_stores_is_400(lrs: Lrs) -> None:
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(150):
        cur["x"] = {}
        cur = cur["x"]
    r = await lrs.post(lrs.statement(result={"extensions": {"http://example.com/deep": deep}}))
    assert r.status_code == 400, r.text


async def test_extensions_keep_keys_with_dots_and_dollars(lrs: Lrs) -> None:
    ext = {"http://example.com/ext.v1": {"a.b": 1, "$c": [1, {"$d": "e"}]}}
    s = lrs.statement(result={"extensions": ext}, context={"extensions": ext})
    sid = (await lrs.post(s)).json()[0]
    got = (await lrs.get(statementId=sid)).json()
    assert got["result"]["extensions"] == ext and got["context"]["extensions"] == ext


# Data 4.5 (2.0.0): timestamps are converted to UTC rather than refused; 1.0.3 keeps them as sent.


async def test_a_timestamp_with_an_offset_is_stored_in_utc_under_2_0_0_and_as_sent_under_1_0_3(lrs: Lrs) -> None:
    sid = str(uuid.uuid4())
    r = await lrs.put(sid, lrs.statement(timestamp="2024-03-01T12:30:00.250+02:00"))
    assert r.status_code == 204, r.text
    r = await lrs.get(statementId=sid)
    assert r.status_code == 200, r.text
    expected = "2024-03-01T10:30:00.250Z" if lrs.version == "2.0.0" else "2024-03-01T12:30:00.250+02:00"
    assert r.json()["timestamp"] == expected
    r = await lrs.put(sid, lrs.statement(timestamp="2024-03-01T12:30:00.250+02:00"))
    assert r.status_code == 204, r.text  # the same statement again: the comparison sees the same instant
