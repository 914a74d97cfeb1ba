"""The author's dashboard API over HTTP: ``GET /v1/me/shares`` (own shares, newest first, with their funnels,
paged) and ``GET /v1/shares/{id}/feedback/stream`` (``changed`` when the share's learning data is stored)."""

from __future__ import annotations

import asyncio

from ..helpers import eventually
from .test_errors import assert_problem
from .test_loop import directory
from .test_notify_live import next_event, share_to

ME_SHARES = "/v1/me/shares"


async def learn_has(api, user: str, share_ids: list[str]) -> None:
    async def known() -> bool:
        r = await api.learn.get("/v1/me/learning", headers=api.auth(user))
        got = {i["share_id"] for i in r.json()["items"]}
        return all(s in got for s in share_ids)

    await eventually(known)


async def test_my_shares_newest_first_with_funnels_and_pages(api, unique):
    ids = await directory(api, unique)
    alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
    sids = [await share_to(api, alice, [bob, carol], f"Mine {i} {unique}") for i in range(3)]
    other = await share_to(api, carol, [bob], f"Carol's {unique}")
    await learn_has(api, bob, [*sids, other])
    r = await api.learn.post(f"/v1/shares/{sids[2]}/acknowledgements", json={"kind": "opened"}, headers=api.auth(bob))
    assert r.status_code == 201
    r = await api.learn.post(f"/v1/shares/{sids[2]}/acknowledgements", json={"kind": "learned"}, headers=api.auth(bob))
    assert r.status_code == 201

    r = await api.learn.get(ME_SHARES, params={"limit": 2}, headers=api.auth(alice))
    assert r.status_code == 200, r.text
    first = r.json()
    assert [i["share_id"] for i in first["items"]] == [sids[2], sids[1]]
    top = first["items"][0]
    assert top["title"] == f"Mine 2 {unique}" and top["status"] == "active" and top["has_checks"] is False
    funnel = {k: top[k] for k in ("recipients", "opened", "learned", "applied", "passed")}
    assert funnel == {"recipients": 2, "opened": 1, "learned": 1, "applied": 0, "passed": 0}
    assert (top["completed"], top["pending"], top["overdue"]) == (1, 1, 0)
    feedback = (await api.learn.get(f"/v1/shares/{sids[2]}/feedback", headers=api.auth(alice))).json()
    assert all(top[k] == feedback[k] for k in ("recipients", "opened", "learned", "completed", "pending"))
    r = await api.learn.get(ME_SHARES, params={"limit": 2, "cursor": first["next_cursor"]}, headers=api.auth(alice))
    assert [i["share_id"] for i in r.json()["items"]] == [sids[0]] and r.json()["next_cursor"] is None
    # Each caller sees only what they authored.
    r = await api.learn.get(ME_SHARES, headers=api.auth(carol))
    assert [i["share_id"] for i in r.json()["items"]] == [other]
    assert (await api.learn.get(ME_SHARES, headers=api.auth(bob))).json() == {"items": [], "next_cursor": None}
    # Bad input: a clear 422.
    assert_problem(await api.learn.get(ME_SHARES, params={"cursor": "nope"}, headers=api.auth(alice)), 422)
    assert_problem(await api.learn.get(ME_SHARES, params={"limit": 51}, headers=api.auth(alice)), 422)


async def test_feedback_stream_says_when_the_share_changed(api, unique):
    ids = await directory(api, unique)
    alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
    sid = await share_to(api, alice, [bob, carol], f"Streamed {unique}")
    quiet = await share_to(api, alice, [bob], f"Another {unique}")
    await learn_has(api, bob, [sid, quiet])
    await learn_has(api, carol, [sid])
    path = f"/v1/shares/{sid}/feedback/stream"
    assert_problem(await api.learn.get(path, headers=api.auth(bob)), 404)  # a recipient is not the author
    assert_problem(await api.learn.get("/v1/shares/nope/feedback/stream", headers=api.auth(alice)), 404)

    async with api.learn.stream("GET", path, headers=api.auth(alice), timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events: asyncio.Queue[dict] = asyncio.Queue()

        async def read() -> None:
            lines = r.aiter_lines()
            while True:
                await events.put(await next_event(lines, timeout=60))

        reader = asyncio.create_task(read())
        changed = {"event": "changed", "data": {"share_id": sid}}

        async def settle() -> None:
            """One change may come as one event or two (at most one a second): let the last one arrive."""
            await asyncio.sleep(1.5)
            while not events.empty():
                assert events.get_nowait() == changed

        try:
            # Another share of the author's: nothing for this stream.
            await api.learn.post(f"/v1/shares/{quiet}/acknowledgements", json={"kind": "opened"}, headers=api.auth(bob))
            await asyncio.sleep(2.5)
            assert events.empty()
            # An acknowledgement, a question, an answer of this share: each is announced.
            r2 = await api.learn.post(
                f"/v1/shares/{sid}/acknowledgements", json={"kind": "opened"}, headers=api.auth(bob)
            )
            assert r2.status_code == 201, r2.text
            assert await asyncio.wait_for(events.get(), 10) == changed
            await settle()
            r2 = await api.learn.post(
                f"/v1/shares/{sid}/acknowledgements", json={"kind": "question", "text": "Why?"}, headers=api.auth(carol)
            )
            assert r2.status_code == 201, r2.text
            assert await asyncio.wait_for(events.get(), 10) == changed
            await settle()
            r2 = await api.learn.post(
                f"/v1/shares/{sid}/questions/{r2.json()['id']}/answers",
                json={"text": "Because."},
                headers=api.auth(alice),
            )
            assert r2.status_code == 201, r2.text
            assert await asyncio.wait_for(events.get(), 10) == changed
        finally:
            reader.cancel()
