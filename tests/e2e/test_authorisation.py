"""Who may call what: every endpoint of every service × every kind of caller → the expected status.

Callers: the resource's owner (alice: the user, the author, the recipient, the webhook's owner), another
user (bob, who is a recipient of alice's share), one caller per scope (each without being the owner) and
no token. "Not yours" answers 404 like "does not exist"; "you may not" (a known resource or an action
that needs a scope) answers 403. The rule for publishing systems (``shares:publish``): they may publish
for any author and follow a share's delivery, but never see its learners — no feedback, no recipients.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from learnloop_shared.local.stack import SERVICES

from ..helpers import eventually
from .conftest import Api

ROLES = ("owner", "other", "directory:write", "shares:publish", "publishers:write", "anonymous")
SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"


@dataclass
class World:
    api: Api
    u: str
    alice: str  # the owner of everything below
    bob: str
    team: str
    own_share: str  # authored by alice, delivered to bob
    received_share: str  # authored by carol, delivered to alice
    notification: str  # alice's notification of received_share
    webhook: str  # alice's
    publisher: str
    users: dict[str, str]  # role → user id
    retractable: str = ""  # authored by alice, for DELETE (so own_share stays unretracted for the others)
    question: str = ""  # alice's private question about received_share
    checked_share: str = ""  # authored by carol, with a knowledge check, delivered to alice
    led_team: str = ""  # managed by alice, bob a member (kept apart from ``team``, which a row rewrites)

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        scopes = (role,) if ":" in role else ()
        return self.api.auth(self.users[role], *scopes)


@pytest.fixture(scope="module")
async def world(stack) -> AsyncIterator[World]:
    api = Api(stack)
    u = uuid.uuid4().hex[:8]
    admin = api.auth("admin", "directory:write")
    alice, bob, carol = f"alice-{u}", f"bob-{u}", f"carol-{u}"
    users = {"owner": alice, "other": bob}
    users.update({scope: f"{scope.split(':')[0]}-{u}" for scope in ROLES[2:5]})
    for user in (alice, bob, carol, *users.values()):
        r = await api.share.put(f"/v1/users/{user}", json={"name": user}, headers=admin)
        assert r.status_code == 200, r.text
    team = f"team-{u}"
    assert (await api.share.put(f"/v1/teams/{team}", json={"name": "T", "members": [bob]}, headers=admin)).is_success
    r = await api.share.post(
        "/v1/shares", json={"title": "Mine", "audience": {"users": [bob]}}, headers=api.auth(alice)
    )
    own_share = r.json()["id"]
    r = await api.share.post(
        "/v1/shares", json={"title": "For alice", "audience": {"users": [alice]}}, headers=api.auth(carol)
    )
    received_share = r.json()["id"]

    async def delivered() -> str:
        r = await api.notify.get("/v1/notifications", headers=api.auth(alice))
        notes = [n["id"] for n in r.json()["items"] if n["share_id"] == received_share]
        r = await api.learn.get("/v1/me/learning", headers=api.auth(alice))
        known = any(i["share_id"] == received_share for i in r.json()["items"])
        return notes[0] if notes and known else ""

    notification = await eventually(delivered)
    webhook = f"hook-{u}"
    hook = {"url": "https://example.com/hook", "events": ["feedback"], "secret": SECRET}
    assert (await api.notify.put(f"/v1/webhooks/{webhook}", json=hook, headers=api.auth(alice))).status_code == 200
    publisher = f"pub-{u}"
    r = await api.share.put(
        f"/v1/publishers/{publisher}",
        json={"name": "Wiki", "sources": [f"urn:test:{u}"]},
        headers=api.auth("registrar", "publishers:write"),
    )
    assert r.status_code == 200, r.text
    r = await api.share.post(
        "/v1/shares", json={"title": "To retract", "audience": {"users": [bob]}}, headers=api.auth(alice)
    )
    retractable = r.json()["id"]
    w = World(api, u, alice, bob, team, own_share, received_share, notification, webhook, publisher, users, retractable)
    r = await api.learn.post(
        f"/v1/shares/{received_share}/acknowledgements",
        json={"kind": "question", "text": "Why?", "public": False},
        headers=api.auth(alice),
    )
    assert r.status_code == 201, r.text
    w.question = r.json()["id"]
    check = {"question": "Which?", "choices": ["this", "that"], "answer": 1}
    r = await api.share.post(
        "/v1/shares",
        json={"title": "Checked", "audience": {"users": [alice]}, "checks": [check]},
        headers=api.auth(carol),
    )
    assert r.status_code == 202, r.text
    w.checked_share = r.json()["id"]

    async def checkable() -> bool:
        r = await api.learn.get(f"/v1/shares/{w.checked_share}/checks", headers=api.auth(alice))
        return r.status_code == 200

    await eventually(checkable)
    w.led_team = f"led-{u}"
    r = await api.share.put(
        f"/v1/teams/{w.led_team}", json={"name": "Led", "members": [bob], "managers": [alice]}, headers=admin
    )
    assert r.status_code == 200, r.text

    async def copied() -> bool:  # learn's directory copy has the team (through directory events)
        r = await api.learn.get(f"/v1/teams/{w.led_team}/learning", headers=api.auth(alice))
        return r.status_code == 200

    await eventually(copied)
    yield w
    await api.close()


def expect(owner: int, other: int, dw: int, sp: int, pw: int, anonymous: int = 401) -> dict[str, int]:
    return dict(zip(ROLES, (owner, other, dw, sp, pw, anonymous), strict=True))


ALL = expect(200, 200, 200, 200, 200)  # any caller, about themself
DIRECTORY_WRITE = expect(403, 403, 200, 403, 403)
OWNER_ONLY = expect(200, 404, 404, 404, 404)
PUBLIC = expect(200, 200, 200, 200, 200, 200)

XAPI_S = {
    "actor": {"mbox": "mailto:matrix@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
    "object": {"id": "http://example.com/matrix"},
}

# (service, method, route as in the OpenAPI document, expected, request: world → (path, json body))
MATRIX: list[tuple[str, str, str, dict[str, int], Any]] = [
    # share: directory
    ("share", "PUT", "/v1/users/{user_id}", DIRECTORY_WRITE, lambda w: (f"/v1/users/{w.alice}", {"name": "A"})),
    (
        "share",
        "PUT",
        "/v1/users",
        DIRECTORY_WRITE,
        lambda w: ("/v1/users", {"users": [{"id": w.alice, "name": "A"}]}),
    ),
    ("share", "GET", "/v1/users/{user_id}", ALL, lambda w: (f"/v1/users/{w.alice}", None)),
    (
        "share",
        "PUT",
        "/v1/users/{user_id}/subscriptions/{topic}",
        expect(200, 403, 200, 403, 403),
        lambda w: (f"/v1/users/{w.alice}/subscriptions/t{w.u}.x", None),
    ),
    (
        "share",
        "DELETE",
        "/v1/users/{user_id}/subscriptions/{topic}",
        expect(200, 403, 200, 403, 403),
        lambda w: (f"/v1/users/{w.alice}/subscriptions/t{w.u}.x", None),
    ),
    ("share", "PUT", "/v1/teams/{team_id}", DIRECTORY_WRITE, lambda w: (f"/v1/teams/{w.team}", {"name": "T"})),
    ("share", "GET", "/v1/teams/{team_id}", ALL, lambda w: (f"/v1/teams/{w.team}", None)),
    (
        "share",
        "POST",
        "/v1/directory/republish",
        expect(403, 403, 202, 403, 403),
        lambda w: ("/v1/directory/republish", None),
    ),
    # share: shares (the owner is the author named in the body)
    (
        "share",
        "POST",
        "/v1/shares",
        expect(202, 403, 403, 202, 403),
        lambda w: ("/v1/shares", {"title": "t", "audience": {"users": [w.bob]}, "author_id": w.alice}),
    ),
    (
        "share",
        "POST",
        "/v1/shares/preview",
        expect(200, 403, 403, 200, 403),
        lambda w: ("/v1/shares/preview", {"title": "t", "audience": {"users": [w.bob]}, "author_id": w.alice}),
    ),
    ("share", "GET", "/v1/shares", ALL, lambda w: ("/v1/shares", None)),
    (
        "share",
        "GET",
        "/v1/shares/{share_id}",
        expect(200, 404, 404, 200, 404),
        lambda w: (f"/v1/shares/{w.own_share}", None),
    ),
    (
        "share",
        "PATCH",
        "/v1/shares/{share_id}",
        expect(200, 404, 404, 200, 404),
        lambda w: (f"/v1/shares/{w.own_share}", {"summary": "revised", "reconfirm": False}),
    ),
    (
        "share",
        "DELETE",
        "/v1/shares/{share_id}",
        expect(200, 404, 404, 200, 404),  # retracting again answers the same share
        lambda w: (f"/v1/shares/{w.retractable}", None),
    ),
    (
        "share",
        "GET",
        "/v1/shares/{share_id}/derived",
        OWNER_ONLY,
        lambda w: (f"/v1/shares/{w.own_share}/derived", None),
    ),
    # share: publishers
    (
        "share",
        "PUT",
        "/v1/publishers/{publisher_id}",
        expect(403, 403, 403, 403, 200),
        lambda w: (f"/v1/publishers/{w.publisher}", {"name": "Wiki", "sources": [f"urn:test:{w.u}"]}),
    ),
    (
        "share",
        "GET",
        "/v1/publishers/{publisher_id}",
        expect(404, 404, 404, 404, 200),
        lambda w: (f"/v1/publishers/{w.publisher}", None),
    ),
    # learn (the owner of an acknowledgement is the recipient; of feedback, the author)
    (
        "learn",
        "POST",
        "/v1/shares/{share_id}/acknowledgements",
        expect(201, 404, 404, 404, 404),
        lambda w: (f"/v1/shares/{w.received_share}/acknowledgements", {"kind": "opened"}),
    ),
    (
        "learn",
        "GET",
        "/v1/shares/{share_id}/feedback",
        OWNER_ONLY,
        lambda w: (f"/v1/shares/{w.own_share}/feedback", None),
    ),
    (
        "learn",
        "GET",
        "/v1/shares/{share_id}/progress",
        OWNER_ONLY,
        lambda w: (f"/v1/shares/{w.own_share}/progress", None),
    ),
    ("learn", "GET", "/v1/me/learning", ALL, lambda w: ("/v1/me/learning", None)),
    (
        "learn",
        "GET",
        "/v1/me/learning/state",
        ALL,  # each caller's own state; shares they did not receive are absent
        lambda w: (f"/v1/me/learning/state?share_id={w.received_share}", None),
    ),
    (
        "learn",
        "GET",
        "/v1/shares/{share_id}/questions",
        expect(200, 200, 404, 404, 404),  # the author, and bob as a recipient (public ones and his own)
        lambda w: (f"/v1/shares/{w.own_share}/questions", None),
    ),
    (
        "learn",
        "POST",
        "/v1/shares/{share_id}/questions/{question_id}/answers",
        expect(201, 404, 404, 404, 404),  # a private question: its asker (and the share's author) only
        lambda w: (f"/v1/shares/{w.received_share}/questions/{w.question}/answers", {"text": "Because."}),
    ),
    (
        "learn",
        "POST",
        "/v1/shares/{share_id}/reminders",
        expect(202, 404, 404, 404, 404),  # the author only (not shares:publish: it acts on who has not learned)
        lambda w: (f"/v1/shares/{w.own_share}/reminders", None),
    ),
    (
        "learn",
        "GET",
        "/v1/shares/{share_id}/checks",
        OWNER_ONLY,  # its recipients (and its author, who is not among these callers)
        lambda w: (f"/v1/shares/{w.checked_share}/checks", None),
    ),
    (
        "learn",
        "POST",
        "/v1/shares/{share_id}/checks/attempts",
        expect(201, 404, 404, 404, 404),  # recipients only
        lambda w: (f"/v1/shares/{w.checked_share}/checks/attempts", {"answers": [1]}),
    ),
    (
        "learn",
        "GET",
        "/v1/shares/{share_id}/report",
        OWNER_ONLY,  # the author, or a manager of a team that received it (bob, a recipient, is neither)
        lambda w: (f"/v1/shares/{w.own_share}/report", None),
    ),
    (
        "learn",
        "GET",
        "/v1/shares/{share_id}/report.csv",
        OWNER_ONLY,
        lambda w: (f"/v1/shares/{w.own_share}/report.csv", None),
    ),
    (
        "learn",
        "GET",
        "/v1/teams/{team_id}/learning",
        OWNER_ONLY,  # the team's managers (bob is a member, not a manager)
        lambda w: (f"/v1/teams/{w.led_team}/learning", None),
    ),
    ("learn", "GET", "/v1/me/shares", ALL, lambda w: ("/v1/me/shares", None)),  # each caller's own shares
    (
        "learn",
        "GET",
        "/v1/shares/{share_id}/feedback/stream",
        OWNER_ONLY,  # the author only, like the feedback it announces
        lambda w: (f"/v1/shares/{w.own_share}/feedback/stream", None),
    ),
    # learn: forwarding to the organisation's LRS (scope lrs:admin, which none of these callers holds)
    ("learn", "GET", "/v1/lrs/forwarding", expect(403, 403, 403, 403, 403), lambda w: ("/v1/lrs/forwarding", None)),
    (
        "learn",
        "POST",
        "/v1/lrs/forwarding/retry-rejected",
        expect(403, 403, 403, 403, 403),
        lambda w: ("/v1/lrs/forwarding/retry-rejected", None),
    ),
    # notify
    ("notify", "GET", "/v1/notifications", ALL, lambda w: ("/v1/notifications", None)),
    ("notify", "GET", "/v1/notifications/unread-count", ALL, lambda w: ("/v1/notifications/unread-count", None)),
    ("notify", "POST", "/v1/notifications/read-all", ALL, lambda w: ("/v1/notifications/read-all", None)),
    (
        "notify",
        "POST",
        "/v1/notifications/{notification_id}/read",
        OWNER_ONLY,
        lambda w: (f"/v1/notifications/{w.notification}/read", None),
    ),
    ("notify", "GET", "/v1/notifications/stream", ALL, lambda w: ("/v1/notifications/stream", None)),
    ("notify", "GET", "/v1/me/preferences", ALL, lambda w: ("/v1/me/preferences", None)),
    ("notify", "PUT", "/v1/me/preferences", ALL, lambda w: ("/v1/me/preferences", {"muted_topics": []})),
    (
        "notify",
        "PUT",
        "/v1/webhooks/{webhook_id}",
        ALL,  # webhook ids belong to their owner: each caller's PUT of the same id creates their own
        lambda w: (
            f"/v1/webhooks/{w.webhook}-claimed",
            {"url": "https://example.com/hook", "events": ["feedback"], "secret": SECRET},
        ),
    ),
    ("notify", "GET", "/v1/webhooks/{webhook_id}", OWNER_ONLY, lambda w: (f"/v1/webhooks/{w.webhook}", None)),
    (
        "notify",
        "GET",
        "/v1/webhooks/{webhook_id}/deliveries",
        OWNER_ONLY,
        lambda w: (f"/v1/webhooks/{w.webhook}/deliveries", None),
    ),
    (
        "notify",
        "DELETE",
        "/v1/webhooks/{webhook_id}",
        expect(204, 404, 404, 404, 404),
        lambda w: (f"/v1/webhooks/{w.webhook}", None),
    ),
    # no token needed (documented): health, notify's inbox page and learn's dashboard page, which hold no data
    *[(s, "GET", "/healthz", PUBLIC, lambda w: ("/healthz", None)) for s in SERVICES],
    *[(s, "GET", "/readyz", PUBLIC, lambda w: ("/readyz", None)) for s in SERVICES],
    ("notify", "GET", "/", expect(307, 307, 307, 307, 307, 307), lambda w: ("/", None)),
    ("notify", "GET", "/inbox", PUBLIC, lambda w: ("/inbox", None)),
    ("notify", "GET", "/inbox/{name}", PUBLIC, lambda w: ("/inbox/inbox.js", None)),
    ("learn", "GET", "/dashboard", PUBLIC, lambda w: ("/dashboard", None)),  # the author's dashboard page
    ("learn", "GET", "/dashboard/{name}", PUBLIC, lambda w: ("/dashboard/dashboard.js", None)),
    # xAPI statements: only xapi:read / xapi:write tokens or LRS credentials (none of these roles)
    ("learn", "GET", "/xapi/statements", expect(403, 403, 403, 403, 403), lambda w: ("/xapi/statements", None)),
    ("learn", "POST", "/xapi/statements", expect(403, 403, 403, 403, 403), lambda w: ("/xapi/statements", XAPI_S)),
    (
        "learn",
        "PUT",
        "/xapi/statements",
        expect(403, 403, 403, 403, 403),
        lambda w: (f"/xapi/statements?statementId={uuid.uuid4()}", XAPI_S),
    ),
]
# Routes left out of the OpenAPI document on purpose; GET /metrics exists only with OTEL_METRICS_EXPORTER=prometheus.
HIDDEN = {
    ("notify", "GET", "/"),
    ("notify", "GET", "/inbox"),
    ("notify", "GET", "/inbox/{name}"),
    ("learn", "GET", "/dashboard"),
    ("learn", "GET", "/dashboard/{name}"),
}


async def _call(client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
    if path.endswith("/stream"):  # an endless response: the status is all we need
        async with client.stream(method, path, headers=headers) as r:
            return r.status_code
    if path.startswith("/xapi/"):  # without it, xAPI answers 400 before it looks at the caller
        headers = {"X-Experience-API-Version": "1.0.3", **headers}
    r = await client.request(method, path, json=body, headers=headers, follow_redirects=False)
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", r.text
    return r.status_code


@pytest.mark.parametrize(("service", "method", "route", "expected", "request_for"), MATRIX, ids=lambda v: None)
async def test_who_may_call_what(world: World, service, method, route, expected, request_for):
    path, body = request_for(world)
    client = getattr(world.api, service)
    # The owner goes last, so their change (a delete, a first acknowledgement) does not alter the others' view.
    got = {}
    for role in (*ROLES[1:], ROLES[0]):
        got[role] = await _call(client, method, path, body, world.headers(role))
    assert got == expected, f"{method} {route}"


async def test_the_matrix_covers_every_endpoint(world: World):
    listed = {(s, m, r) for s, m, r, _, _ in MATRIX} | {("learn", m, r) for m, r, _, _, _ in XAPI_MATRIX}
    for service in SERVICES:
        doc = (await getattr(world.api, service).get("/openapi.json")).json()
        served = {(service, m.upper(), route) for route, ops in doc["paths"].items() for m in ops}
        missing = served - listed
        assert not missing, f"endpoints without a row in MATRIX: {sorted(missing)}"
        assert {x for x in listed - served if x[0] == service} <= HIDDEN


async def test_a_publishing_system_follows_delivery_but_never_sees_learners(world: World):
    api = world.api
    r = await api.share.get(f"/v1/shares/{world.own_share}", headers=world.headers("shares:publish"))
    assert r.status_code == 200
    seen = r.json()
    assert seen["status"] in ("accepted", "fanning_out", "delivered") and "delivered" in seen
    assert seen["audience"]["users"] == [] and seen["unknown_users"] == []
    r = await api.share.get(f"/v1/shares/{world.own_share}", headers=world.headers("owner"))
    assert r.json()["audience"]["users"] == [world.bob]
    r = await api.learn.get(f"/v1/shares/{world.own_share}/feedback", headers=world.headers("shares:publish"))
    assert r.status_code == 404


# xAPI (learn's LRS) and its credentials admin API ---------------------------------------------------------
# Callers: nobody; a Bearer token with the wrong scope; a Bearer token with the right one; HTTP Basic with an
# LRS credential lacking the scope (it holds only ``statements/read/mine``); HTTP Basic with ``all``.
# ``/v1/lrs/...`` is a Learnloop API: it takes Bearer tokens only, so Basic callers get 401 there.
XAPI_ROLES = ("anonymous", "wrong scope", "basic lacking", "basic right", "right scope")  # the right scope last


@dataclass
class XapiWorld:
    api: Api
    activity: str
    agent: str  # JSON
    basic_lacking: dict[str, str]
    basic_right: dict[str, str]
    doomed: str  # a credential the right caller revokes

    def headers(self, role: str, right: str, wrong: str) -> dict[str, str]:
        version = {"X-Experience-API-Version": "2.0.0"}
        if role == "anonymous":
            return version
        if role == "basic lacking":
            return {**self.basic_lacking, **version}
        if role == "basic right":
            return {**self.basic_right, **version}
        return {**self.api.auth(f"xapi-{role.split()[0]}", right if role == "right scope" else wrong), **version}

    def state(self, fresh: bool = False) -> str:
        doc = uuid.uuid4().hex if fresh else "matrix"
        return f"?activityId={self.activity}&agent={self.agent}&stateId={doc}"

    def activity_profile(self, fresh: bool = False) -> str:
        return f"?activityId={self.activity}&profileId={uuid.uuid4().hex if fresh else 'matrix'}"

    def agent_profile(self, fresh: bool = False) -> str:
        return f"?agent={self.agent}&profileId={uuid.uuid4().hex if fresh else 'matrix'}"


def _basic(key: str, secret: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


@pytest.fixture(scope="module")
async def xapi_world(stack) -> AsyncIterator[XapiWorld]:
    from urllib.parse import quote

    api = Api(stack)
    admin = api.auth("lrs-admin", "lrs:admin")
    creds = []
    for scopes in (["statements/read/mine"], ["all"], ["state"]):
        r = await api.learn.post("/v1/lrs/credentials", json={"name": "matrix", "scopes": scopes}, headers=admin)
        assert r.status_code == 201, r.text
        creds.append(r.json())
    u = uuid.uuid4().hex[:8]
    w = XapiWorld(
        api,
        quote(f"http://example.com/matrix/{u}", safe=""),
        quote(f'{{"mbox": "mailto:matrix-{u}@example.com"}}', safe=""),
        _basic(creds[0]["key"], creds[0]["secret"]),
        _basic(creds[1]["key"], creds[1]["secret"]),
        creds[2]["key"],
    )
    for path in (
        f"/xapi/activities/state{w.state()}",
        f"/xapi/activities/profile{w.activity_profile()}",
        f"/xapi/agents/profile{w.agent_profile()}",
    ):  # the documents the GET and HEAD rows read
        r = await api.learn.put(path, json={"a": 0}, headers={**w.basic_right, "X-Experience-API-Version": "2.0.0"})
        assert r.status_code == 204, r.text
    yield w
    await api.close()


def xexpect(ok: int, basic: bool = True) -> dict[str, int]:
    """anonymous 401, wrong scope 403, lacking credential 403 (401 where Basic is not taken), right ``ok``."""
    return dict(zip(XAPI_ROLES, (401, 403, 403 if basic else 401, ok if basic else 401, ok), strict=True))


READ, WRITE, ADMIN = ("xapi:read", "directory:write"), ("xapi:write", "xapi:read"), ("lrs:admin", "xapi:write")
# (method, route, expected, (right scope, wrong scope), request: world → (path with query, body))
XAPI_MATRIX: list[tuple[str, str, dict[str, int], tuple[str, str], Any]] = [
    *[
        row
        for path, where in (
            ("/xapi/activities/state", XapiWorld.state),
            ("/xapi/activities/profile", XapiWorld.activity_profile),
            ("/xapi/agents/profile", XapiWorld.agent_profile),
        )
        for row in (
            ("GET", path, xexpect(200), READ, lambda w, p=path, q=where: (p + q(w), None)),
            ("HEAD", path, xexpect(200), READ, lambda w, p=path, q=where: (p + q(w), None)),
            ("PUT", path, xexpect(204), WRITE, lambda w, p=path, q=where: (p + q(w, True), {"a": 1})),
            ("POST", path, xexpect(204), WRITE, lambda w, p=path, q=where: (p + q(w), {"a": 1})),
            ("DELETE", path, xexpect(204), WRITE, lambda w, p=path, q=where: (p + q(w, True), None)),
        )
    ],
    *[
        (method, route, expected, READ, request_for)
        for method in ("GET", "HEAD")
        for route, expected, request_for in (
            ("/xapi/activities", xexpect(200), lambda w: (f"/xapi/activities?activityId={w.activity}", None)),
            ("/xapi/agents", xexpect(200), lambda w: (f"/xapi/agents?agent={w.agent}", None)),
            ("/xapi/about", dict.fromkeys(XAPI_ROLES, 200), lambda w: ("/xapi/about", None)),
        )
    ],
    (
        "POST",
        "/v1/lrs/credentials",
        xexpect(201, basic=False),
        ADMIN,
        lambda w: ("/v1/lrs/credentials", {"name": "matrix", "scopes": ["state"]}),
    ),
    ("GET", "/v1/lrs/credentials", xexpect(200, basic=False), ADMIN, lambda w: ("/v1/lrs/credentials", None)),
    (
        "DELETE",
        "/v1/lrs/credentials/{key}",
        xexpect(204, basic=False),
        ADMIN,
        lambda w: (f"/v1/lrs/credentials/{w.doomed}", None),
    ),
]


@pytest.mark.parametrize(("method", "route", "expected", "scopes", "request_for"), XAPI_MATRIX, ids=lambda v: None)
async def test_who_may_call_what_on_the_lrs(xapi_world: XapiWorld, method, route, expected, scopes, request_for):
    got = {}
    for role in XAPI_ROLES:
        path, body = request_for(xapi_world)
        got[role] = await _call(xapi_world.api.learn, method, path, body, xapi_world.headers(role, *scopes))
    assert got == expected, f"{method} {route}"
