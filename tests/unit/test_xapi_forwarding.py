"""Forwarding to another LRS: the pure rules (outcomes, backoff, Retry-After, the endpoint shown) and the
settings; the use case's splitting with a scripted remote and an in-memory store."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from learnloop_learn.config import LearnSettings
from learnloop_learn.domain.xapi.forwarding import (
    MAX_REASON_CHARS,
    Outcome,
    backoff_s,
    mark_pending,
    outcome,
    parse_retry_after,
    public_endpoint,
    reason,
    statements_url,
)
from learnloop_learn.jobs.xapi_forwarding import MAX_ERROR_BODY, HttpRemote
from learnloop_learn.usecases.xapi.forwarding import Forwarding, ForwardSettings, Response
from learnloop_shared.events import utcnow
from pydantic import ValidationError

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
AUTH = {"auth_secret": "test-secret-that-is-long-enough-for-hs256"}


@pytest.mark.parametrize(
    ("status", "size", "expected"),
    [
        (200, 5, Outcome.DELIVERED),
        (204, 1, Outcome.DELIVERED),
        (409, 1, Outcome.DELIVERED),  # it has this statement already: a replay
        (409, 2, Outcome.SPLIT),
        (400, 3, Outcome.SPLIT),
        (400, 1, Outcome.REJECTED),
        (413, 4, Outcome.SPLIT),
        (413, 1, Outcome.REJECTED),
        (401, 1, Outcome.RETRY),  # wrong credentials: never park statements for a setting
        (403, 1, Outcome.RETRY),
        (404, 1, Outcome.RETRY),
        (429, 1, Outcome.RETRY),
        (500, 1, Outcome.RETRY),
        (503, 7, Outcome.RETRY),
    ],
)
def test_outcome_of_a_response(status: int, size: int, expected: Outcome) -> None:
    assert outcome(status, size) is expected


def test_backoff_doubles_up_to_the_cap_and_honours_retry_after() -> None:
    assert [backoff_s(n, 1.0, 10.0) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]
    assert backoff_s(10_000, 1.0, 300.0) == 300.0  # no overflow
    assert backoff_s(1, 1.0, 10.0, retry_after_s=120) == 120  # the remote's wish beats the cap
    assert backoff_s(5, 1.0, 10.0, retry_after_s=2) == 10  # but not a shorter wait than our own
    assert backoff_s(1, 1.0, 10.0, retry_after_s=10**9) == 3600  # at most an hour


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("30", NOW) == 30
    assert parse_retry_after(" 0 ", NOW) == 0
    assert parse_retry_after("Tue, 01 Dec 2026 10:01:00 GMT", NOW) == 60
    assert parse_retry_after("Tue, 01 Dec 2026 09:00:00 GMT", NOW) == 0  # in the past: now
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("-5", NOW) is None


def test_the_endpoint_shown_holds_no_credentials() -> None:
    assert public_endpoint("https://lrs.example/xapi") == "https://lrs.example/xapi"
    assert public_endpoint("https://u:p@lrs.example:8443/xapi?key=s#x") == "https://lrs.example:8443/xapi"
    assert public_endpoint("http://[::1]:80/x") == "http://[::1]:80/x"
    assert statements_url("https://lrs.example/xapi/") == "https://lrs.example/xapi/statements"


def test_reasons_are_one_short_line() -> None:
    assert reason(400, '{"message":\n "bad verb"}') == 'HTTP 400: {"message": "bad verb"}'
    assert reason(None, "ConnectError: refused") == "no response: ConnectError: refused"
    assert reason(503, "") == "HTTP 503"
    assert len(reason(400, "x" * 10_000)) == MAX_REASON_CHARS


def test_mark_pending_marks_every_document() -> None:
    docs: list[dict[str, Any]] = [{"_id": "a"}, {"_id": "b", "fwd": "rejected"}]
    mark_pending(docs)
    assert [d["fwd"] for d in docs] == ["pending", "pending"]


def test_forwarding_settings(tmp_path) -> None:
    s = LearnSettings(**AUTH)
    assert s.xapi_forward_url is None and s.xapi_forward_version == "1.0.3"
    s = LearnSettings(**AUTH, xapi_forward_url=" https://lrs.example/xapi/ ", xapi_forward_username="k")
    assert s.xapi_forward_url == "https://lrs.example/xapi"
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    s = LearnSettings(
        **AUTH, xapi_forward_username="k", xapi_forward_password="plain", xapi_forward_password_file=secret
    )
    assert s.xapi_forward_password is not None and s.xapi_forward_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)
    assert LearnSettings(**AUTH, xapi_forward_url="").xapi_forward_url is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"xapi_forward_url": "ftp://lrs.example"}, "http(s) URL"),
        ({"xapi_forward_url": "https://"}, "http(s) URL"),
        ({"xapi_forward_url": "https://k:s@lrs.example/xapi"}, "must not hold credentials"),
        ({"xapi_forward_password": "s"}, "needs LEARNLOOP_XAPI_FORWARD_USERNAME"),
        ({"xapi_forward_version": "1.0.1"}, "1.0.3"),
        ({"xapi_forward_batch_size": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_forwarding_settings(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LearnSettings(**AUTH, **fields)


def test_an_empty_password_file_is_refused(tmp_path) -> None:
    empty = tmp_path / "pw"
    empty.write_text("")
    with pytest.raises(ValidationError, match="is empty"):
        LearnSettings(**AUTH, xapi_forward_username="k", xapi_forward_password_file=empty)


# --- the use case, with a scripted remote and an in-memory store ------------------------------


class Store:
    def __init__(self, ids: Sequence[str]) -> None:
        self.queue = {i: "pending" for i in ids}
        self.order = list(ids)
        self.failures: list[tuple[str, datetime]] = []
        self.rejected: dict[str, str] = {}

    claims_left = 1_000

    async def claim(self, owner: str, lease_s: float, now: datetime) -> dict[str, Any] | None:
        self.claims_left -= 1
        return {"consecutive_failures": len(self.failures)} if self.claims_left >= 0 else None

    async def pending(self, limit: int) -> list[dict[str, Any]]:
        ids = [i for i in self.order if self.queue.get(i) == "pending"][:limit]
        return [{"_id": i, "statement": {"id": i}} for i in ids]

    async def delivered(self, ids: Sequence[str], now: datetime) -> int:
        done = [i for i in ids if self.queue.get(i) == "pending"]
        for i in done:
            del self.queue[i]
        return len(done)

    async def reject(self, statement_id: str, why: str, now: datetime) -> bool:
        self.queue[statement_id] = "rejected"
        self.rejected[statement_id] = why
        return True

    async def failed(self, failures: int, why: str, now: datetime, next_attempt_at: datetime) -> None:
        self.failures.append((why, next_attempt_at))


class Remote:
    """Refuses with 400 any request holding one of ``bad``; fails with 503 while ``down``."""

    def __init__(self, bad: set[str], down: bool = False) -> None:
        self.bad = bad
        self.down = down
        self.requests: list[list[str]] = []
        self.took: list[str] = []

    async def post_statements(self, statements: Sequence[Any]) -> Response:
        ids = [s["id"] for s in statements]
        self.requests.append(ids)
        if self.down:
            return Response(503, "down", retry_after_s=None)
        if self.bad.intersection(ids):
            return Response(400, "invalid")
        self.took += ids
        return Response(200, "")


def forwarding(store: Store, remote: Remote, batch: int = 8) -> Forwarding:
    settings = ForwardSettings(batch_size=batch, base_backoff_s=1.0, max_backoff_s=60.0, lease_s=30.0)
    return Forwarding(store, remote, settings, "me")  # type: ignore[arg-type]


async def test_a_batch_refused_is_split_until_the_bad_statements_are_found() -> None:
    ids = [f"s{i}" for i in range(8)]
    store, remote = Store(ids), Remote({"s2", "s6"})
    assert await forwarding(store, remote).run_once() == 6
    assert remote.took == ["s0", "s1", "s3", "s4", "s5", "s7"]  # in order
    assert set(store.rejected) == {"s2", "s6"} and store.rejected["s2"] == "HTTP 400: invalid"
    assert store.queue == {"s2": "rejected", "s6": "rejected"}
    assert len(remote.requests) == 1 + 2 + 4 + 4  # the batch, its halves, quarters, and the two bad pairs
    assert not store.failures


async def test_a_remote_that_fails_leaves_the_batch_pending_with_a_backoff() -> None:
    store, remote = Store(["a", "b"]), Remote(set(), down=True)
    before = utcnow()  # milliseconds, as the use case's clock
    assert await forwarding(store, remote).run_once() == 0
    assert store.queue == {"a": "pending", "b": "pending"} and remote.requests == [["a", "b"]]
    ((why, next_at),) = store.failures
    assert why == "HTTP 503: down" and next_at - before >= timedelta(seconds=1)


async def test_a_runner_that_loses_its_lease_stops_sending() -> None:
    ids = [f"s{i}" for i in range(4)]
    store, remote = Store(ids), Remote({"s1"})
    store.claims_left = 3  # the pass's claim, then renewals before the batch and its first half only
    assert await forwarding(store, remote, batch=4).run_once() == 0
    assert remote.requests == [["s0", "s1", "s2", "s3"], ["s0", "s1"]]
    assert store.queue == dict.fromkeys(ids, "pending") and not store.failures


# --- the HTTP client ------------------------------------------------------------------------------


async def test_the_http_client_posts_a_json_array_with_version_and_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(200, json=["a", "b"])
        return httpx.Response(503, text="x" * 10_000, headers={"Retry-After": "7"})

    remote = HttpRemote("https://lrs.example/xapi/", "2.0.0", "key", "sécret", 5, httpx.MockTransport(answer))
    ok = await remote.post_statements([{"id": "a", "verb": {"display": {"fr": "été"}}}, {"id": "b"}])
    assert ok == Response(200, "", None)
    req = seen[0]
    assert req.method == "POST" and str(req.url) == "https://lrs.example/xapi/statements"
    assert req.headers["X-Experience-API-Version"] == "2.0.0" and req.headers["Content-Type"] == "application/json"
    assert req.headers["Authorization"] == "Basic " + base64.b64encode("key:sécret".encode()).decode()
    assert json.loads(req.content) == [{"id": "a", "verb": {"display": {"fr": "été"}}}, {"id": "b"}]
    busy = await remote.post_statements([{"id": "c"}])
    assert busy.status == 503 and busy.retry_after_s == 7 and len(busy.body) == MAX_ERROR_BODY
    await remote.close()


async def test_the_http_client_reports_no_response_and_sends_no_credentials_when_none_are_set() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        assert "Authorization" not in request.headers
        raise httpx.ConnectError("refused", request=request)

    remote = HttpRemote("http://lrs.example/xapi", "1.0.3", None, None, 5, httpx.MockTransport(refuse))
    r = await remote.post_statements([{"id": "a"}])
    assert r.status is None and r.body == "ConnectError: refused" and r.retry_after_s is None
    await remote.close()
