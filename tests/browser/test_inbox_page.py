"""The inbox page served by notify, in a real headless Chromium against all three services.

A recipient's page shows a new share live (no reload), acknowledges it with one click (learn records it),
asks a question, and the author's page shows that feedback arrive live.
"""

from __future__ import annotations

import json
import re
import signal
import time
from typing import Any

import httpx
import pytest
from learnloop_shared.local.servers import free_port
from playwright.async_api import expect

from ..e2e.test_loop import directory
from ..helpers import eventually
from .conftest import needs_chromium

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LIVE = "#live[data-state='live']"


async def open_inbox(browser: Any, notify_url: str, token: str, errors: list[str]) -> Any:
    """A fresh browser context (own localStorage) with the inbox open and live for the token's user."""
    context = await browser.new_context(viewport={"width": 1000, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    await page.goto(f"{notify_url}/inbox#token={token}")
    await page.wait_for_selector(LIVE, timeout=15_000)
    return page


def item(page: Any, share_id: str, kind: str = "share.delivered") -> Any:
    return page.locator(f"li.item[data-share-id='{share_id}'][data-kind='{kind}']")


async def publish(api: Any, author: str, to: list[str], title: str, url: str | None = None) -> str:
    body: dict[str, Any] = {"title": title, "summary": "Read this first", "audience": {"users": to}}
    if url:
        body["url"] = url
    r = await api.share.post("/v1/shares", json=body, headers=api.auth(author))
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def learn_knows(api: Any, user: str, share_id: str) -> None:
    """Wait until learn has the delivery, so an acknowledgement cannot race it (a separate consumer)."""

    async def known() -> bool:
        r = await api.learn.get("/v1/me/learning", headers=api.auth(user))
        return r.status_code == 200 and any(s["share_id"] == share_id for s in r.json()["items"])

    await eventually(known)


async def feedback(api: Any, author: str, share_id: str) -> dict[str, Any]:
    r = await api.learn.get(f"/v1/shares/{share_id}/feedback", headers=api.auth(author))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_page_is_served_with_its_config(api, stack):
    r = await api.notify.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/inbox"
    r = await api.notify.get("/inbox")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    cfg = json.loads(re.search(r'id="learnloop-config" type="application/json">(.*?)</script>', r.text).group(1))
    assert cfg == {"learnUrl": stack.url("learn"), "shareUrl": stack.url("share")}
    js = await api.notify.get("/inbox/inbox.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert (await api.notify.get("/inbox/inbox.css")).headers["content-type"].startswith("text/css")
    assert (await api.notify.get("/inbox/secret.py")).status_code == 404
    # learn answers the page's cross-origin preflight for acknowledgements.
    pre = await api.learn.options(
        "/v1/shares/x/acknowledgements",
        headers={
            "Origin": stack.url("notify"),
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == stack.url("notify")


@needs_chromium
async def test_inbox_live_acknowledge_and_author_feedback(api, stack, browser, unique, screenshots):
    ids = await directory(api, unique)
    alice, bob = ids["alice"], ids["bob"]
    notify_url = stack.url("notify")
    errors: list[str] = []

    # The recipient signs in with #token=…; the page shows who it is and drops the token from the URL.
    bob_page = await open_inbox(browser, notify_url, api.auth(bob)["Authorization"].split()[1], errors)
    assert await bob_page.text_content("#who-name") == bob
    assert "token" not in bob_page.url
    assert await bob_page.evaluate("localStorage.getItem('learnloop.token')")
    await bob_page.evaluate("window.notReloaded = true")

    # A share published over HTTP appears at the top, live, without a reload; text is escaped, not markup.
    title = f"<b>Kafka</b> & <img src=x onerror=alert(1)> {unique}"
    t0 = time.monotonic()
    sid = await publish(api, alice, [bob], title, url=f"{notify_url}/healthz")
    bob_item = item(bob_page, sid)
    await bob_item.wait_for(timeout=20_000)
    arrived_s = time.monotonic() - t0
    assert await bob_page.evaluate("window.notReloaded === true")
    assert await bob_item.locator(".title").text_content() == title
    assert await bob_item.locator(".title b, .title img").count() == 0
    assert await bob_page.locator("li.item").first.get_attribute("data-share-id") == sid
    assert "unread" in (await bob_item.get_attribute("class") or "")
    await bob_page.wait_for_selector("#unread[data-count='1']")
    print(f"share visible in the page {arrived_s:.2f}s after publishing")

    # One click on "Learned": learn records it, the page says so, and the item is read.
    await learn_knows(api, bob, sid)
    out = bob_item.locator("output.result")
    await bob_item.get_by_role("button", name="Learned").click()
    await expect(out).to_have_text("Learned: recorded.")
    await expect(out).to_have_attribute("data-status", "201")
    assert await bob_item.get_by_role("button", name="Learned").get_attribute("aria-pressed") == "true"
    assert (await feedback(api, alice, sid))["learned"] == 1
    await bob_page.wait_for_selector("#unread[data-count='0']")
    assert "unread" not in (await bob_item.get_attribute("class") or "")

    await bob_item.get_by_role("button", name="Learned").click()
    await expect(out).to_have_text("Learned: already recorded.")
    await expect(out).to_have_attribute("data-status", "200")

    # "Open" opens the share in a new tab and records `opened`; a rating replaces the earlier one.
    async with bob_page.context.expect_page() as popup:
        await bob_item.get_by_role("link", name="Open").click()
    await (await popup.value).close()
    await expect(out).to_have_text("Opened: recorded.")
    await bob_item.get_by_role("button", name="Rate 4 out of 5").click()
    await expect(out).to_have_text("Rating 4/5: recorded.")
    await bob_item.get_by_role("button", name="Rate 5 out of 5").click()
    await expect(out).to_have_text("Rating 5/5: updated.")
    await expect(bob_item.locator("[aria-pressed='true'].star")).to_have_text("5")
    fb = await feedback(api, alice, sid)
    assert (fb["opened"], fb["learned"], fb["ratings"]) == (1, 1, {"count": 1, "average": 5.0})

    # The author's page (its own context): the recipient asks a question and it arrives there live.
    alice_page = await open_inbox(browser, notify_url, api.auth(alice)["Authorization"].split()[1], errors)
    assert await alice_page.text_content("#who-name") == alice
    question = f"How big should fetch.max.bytes be? <script>x</script> {unique}"
    await bob_item.get_by_placeholder("Ask the author…").fill(question)
    t0 = time.monotonic()
    await bob_item.get_by_role("button", name="Ask").click()
    await expect(out).to_have_text("Question: recorded.")
    await expect(bob_item.get_by_placeholder("Ask the author…")).to_have_value("")
    asked = alice_page.locator("li.item.kind-feedback", has_text=question)
    await asked.wait_for(timeout=20_000)
    question_s = time.monotonic() - t0
    print(f"question visible on the author's page {question_s:.2f}s after asking")
    assert await asked.locator(".text").text_content() == f"{bob} asked about “{title}”: {question}"
    assert await alice_page.locator("li.item.kind-feedback").first.text_content() == await asked.text_content()
    assert (await feedback(api, alice, sid))["questions"][0]["text"] == question

    # The author also heard of the first learner (other feedback comes in digests); "Mark all read" clears the count.
    first_learner = alice_page.locator("li.item.kind-feedback", has_text=f"reached its first learner: {bob}")
    await expect(first_learner).to_have_count(1)
    # Bob's open and ratings reach alice as one digest after the (2 s) window; wait for it, so that
    # nothing new arrives while the unread count is checked.
    digest = alice_page.locator("li.item.kind-feedback", has_text="average rating")
    await digest.first.wait_for(timeout=20_000)
    await alice_page.wait_for_timeout(2500)  # the acknowledgements may straddle two windows
    assert await alice_page.locator("#more").is_hidden()  # one page only
    await alice_page.screenshot(path=str(screenshots / "inbox-author.png"), full_page=True)
    await bob_page.screenshot(path=str(screenshots / "inbox-recipient.png"), full_page=True)
    unread = int(await alice_page.get_attribute("#unread", "data-count") or 0)
    assert unread >= 2
    await expect(asked).to_have_class(re.compile(r"\bunread\b"))
    await asked.click()  # clicking an item marks it read
    await expect(asked).not_to_have_class(re.compile(r"\bunread\b"))
    await expect(alice_page.locator("#unread")).to_have_attribute("data-count", str(unread - 1))
    await alice_page.get_by_role("button", name="Mark all read").click()
    await alice_page.wait_for_selector("#unread[data-count='0']")
    assert await alice_page.locator("li.item.unread").count() == 0

    await bob_page.context.close()
    await alice_page.context.close()
    assert errors == []


@needs_chromium
async def test_sign_in_form_and_sign_out(api, stack, browser, unique, screenshots):
    ids = await directory(api, unique)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(stack.url("notify") + "/")
    assert page.url.endswith("/inbox")
    await page.get_by_label("Token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("#sign-in-error:has-text('does not look like')")
    await page.screenshot(path=str(screenshots / "inbox-sign-in.png"))
    await page.get_by_label("Token").fill(api.auth(ids["carol"])["Authorization"].split()[1])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector(LIVE)
    assert await page.text_content("#who-name") == ids["carol"]
    # Still signed in after a reload (localStorage), signed out on request.
    await page.reload()
    await page.wait_for_selector(LIVE)
    await page.get_by_role("button", name="Sign out").click()
    assert await page.is_visible("#sign-in-form")
    assert await page.evaluate("localStorage.getItem('learnloop.token')") is None
    await context.close()


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as c:
            return (await c.get(f"{url}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


@needs_chromium
async def test_page_reconnects_with_last_event_id_after_notify_dies(api, stack, browser, unique):
    """A notify API replica of its own (same database) serves the page; it is killed and restarted, and the page
    resumes its stream with Last-Event-ID: a share stored meanwhile appears without reloading the list."""
    ids = await directory(api, unique)
    bob = ids["bob"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def replica() -> Any:
        proc = stack.service_process("notify", role="api")
        proc.env["LEARNLOOP_HTTP_PORT"] = str(port)
        proc.start()
        return proc

    proc = replica()
    try:
        await eventually(lambda: _ready(url), timeout=30)
        context = await browser.new_context()
        page = await context.new_page()
        streams: list[str | None] = []
        lists: list[str] = []
        page.on(
            "request",
            lambda r: (
                streams.append(r.headers.get("last-event-id"))
                if r.url.endswith("/v1/notifications/stream")
                else lists.append(r.url)
                if "/v1/notifications?" in r.url
                else None
            ),
        )
        await page.goto(f"{url}/inbox#token={api.auth(bob)['Authorization'].split()[1]}")
        await page.wait_for_selector(LIVE)
        first = await publish(api, ids["alice"], [bob], f"Before the crash {unique}")
        await item(page, first).wait_for(timeout=20_000)
        assert streams == [None] and len(lists) == 1

        proc.signal(signal.SIGKILL)
        proc.stop(timeout=5)
        await page.wait_for_selector("#live[data-state='reconnecting']", timeout=10_000)
        missed = await publish(api, ids["alice"], [bob], f"While notify was down {unique}")

        async def stored() -> bool:
            r = await api.notify.get("/v1/notifications", headers=api.auth(bob))
            return any(n["share_id"] == missed for n in r.json()["items"])

        await eventually(stored)
        t0 = time.monotonic()
        proc = replica()
        await eventually(lambda: _ready(url), timeout=30)
        await item(page, missed).wait_for(timeout=40_000)
        print(f"reconnected and caught up {time.monotonic() - t0:.1f}s after restarting notify")
        await page.wait_for_selector(LIVE)
        assert streams[0] is None and streams[-1] and len(lists) == 1  # resumed, not reloaded
        assert [await x.get_attribute("data-share-id") for x in await page.locator("li.item").all()] == [missed, first]
        assert await page.text_content("#inbox-error") == ""
        await context.close()
    finally:
        proc.signal(signal.SIGKILL)
        proc.stop(timeout=5)
