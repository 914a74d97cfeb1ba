"""The inbox page served by notify, in a real headless Chromium against all three services.

A recipient's page shows a new share live (no reload), acknowledges it with one click (learn records it),
asks a question, and the author's page shows that feedback arrive live. The follow-through test covers
what the recipient already did (state from learn, kept current live), reminders, overdue notices,
revisions, answers, built-on notifications and public/private questions.
"""

from __future__ import annotations

import json
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from learnloop_shared.local.servers import free_port
from playwright.async_api import expect

from ..e2e.test_loop import directory
from ..e2e.test_notify_follow_through import need
from ..helpers import eventually
from .conftest import needs_chromium

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

LIVE = "#live[data-state='live']"


STATE_PATH = "/v1/me/learning/state"


async def open_inbox(
    browser: Any, notify_url: str, token: str, errors: list[str], tolerate_404: tuple[str, ...] = ()
) -> Any:
    """A fresh browser context (own localStorage) with the inbox open and live for the token's user.

    Console errors and page errors are collected in ``errors``; Chromium logs every 4xx answer as a console
    error, so the 404s a test provokes on purpose (paths in ``tolerate_404``) are left out.
    """
    context = await browser.new_context(viewport={"width": 1000, "height": 900})
    page = await context.new_page()

    def console(msg: Any) -> None:
        if msg.type != "error":
            return
        where = str((msg.location or {}).get("url", ""))
        if "status of 404" in msg.text and any(p in where for p in tolerate_404):
            return
        errors.append(f"console: {msg.text} ({where})")

    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", console)
    await page.goto(f"{notify_url}/inbox#token={token}")
    await page.wait_for_selector(LIVE, timeout=15_000)
    return page


def token(api: Any, user: str) -> str:
    return str(api.auth(user)["Authorization"].split()[1])


async def learn_has_state(api: Any) -> bool:
    """Whether learn serves the recipient's state (an older learn answers 404 and the page shows none)."""
    r = await api.learn.get(STATE_PATH, params={"share_id": "none"}, headers=api.auth("nobody"))
    return r.status_code != 404


def item(page: Any, share_id: str, kind: str = "share.delivered") -> Any:
    return page.locator(f"li.item[data-share-id='{share_id}'][data-kind='{kind}']")


async def publish(api: Any, author: str, to: list[str], title: str, url: str | None = None, **extra: Any) -> str:
    body: dict[str, Any] = {"title": title, "summary": "Read this first", "audience": {"users": to}, **extra}
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
    older_learn = () if await learn_has_state(api) else (STATE_PATH,)

    # The recipient signs in with #token=…; the page shows who it is and drops the token from the URL.
    bob_page = await open_inbox(browser, notify_url, token(api, bob), errors, older_learn)
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
    assert (fb["opened"], fb["learned"], fb["ratings"]["count"], fb["ratings"]["average"]) == (1, 1, 1, 5.0)

    # The author's page (its own context): the recipient asks a question and it arrives there live.
    alice_page = await open_inbox(browser, notify_url, token(api, alice), errors, older_learn)
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


def state_of(page_item: Any) -> Any:
    return page_item.locator(".state")


async def learn_state(api: Any, user: str, share_id: str) -> dict[str, Any]:
    r = await api.learn.get(STATE_PATH, params={"share_id": share_id}, headers=api.auth(user))
    assert r.status_code == 200, r.text
    items = [i for i in r.json()["items"] if i["share_id"] == share_id]
    assert len(items) == 1, r.text
    return dict(items[0])


ANY_RATING = -1


async def expect_state(page_item: Any, status: str, acknowledged: list[str], rating: int | None) -> None:
    """The item shows learn's state for its share: status, what was acknowledged, the rating (unless
    ``ANY_RATING``), and the buttons pressed for them."""
    st = state_of(page_item)
    await expect(st).to_be_visible()
    await expect(st).to_have_attribute("data-status", status)
    await expect(st).to_have_attribute("data-acknowledged", re.compile(r"^[a-z ]*$"))
    for kind in ("opened", "learned", "applied"):
        chip = st.locator(f"[data-fact='{kind}']")
        await expect(chip).to_have_count(1 if kind in acknowledged else 0)
    if rating == ANY_RATING:
        pass
    elif rating is None:
        await expect(st).to_have_attribute("data-rating", "")
    else:
        await expect(st).to_have_attribute("data-rating", str(rating))
        await expect(st.locator("[data-fact='rating']")).to_have_text(f"Rated {rating}/5")
    buttons = page_item.locator(".actions")
    if await buttons.count():
        for kind in ("learned", "applied"):
            b = buttons.locator(f"button[data-ack='{kind}']")
            if kind in acknowledged:
                await expect(b).to_have_attribute("aria-pressed", "true")
            else:
                await expect(b).not_to_have_attribute("aria-pressed", "true")
        pressed = buttons.locator(".star[aria-pressed='true']")
        if rating != ANY_RATING:
            await expect(pressed).to_have_count(0 if rating is None else 1)
        if rating is not None and rating != ANY_RATING:
            await expect(pressed).to_have_text(str(rating))


async def open_questions(page_item: Any) -> Any:
    """Opens the item's questions panel and waits until the thread is loaded; returns the panel."""
    panel = page_item.locator("details.questions")
    if await panel.get_attribute("open") is None:
        await panel.locator("summary").click()
    await expect(panel.locator(".thread[data-loaded='true']")).to_have_count(1)
    return panel


@needs_chromium
async def test_follow_through_on_the_inbox_page(api, stack, browser, unique, screenshots):
    """State from learn after learned + rating 5 (also after a reload, and kept current live), a reminder, an
    overdue recipient and the author's overdue notice, a revision, public and private questions, an answer read
    by the asker, and a built-on notification to the author."""
    await need(api, "share", "/v1/shares/{id}", "patch")  # due dates, reminders, revisions, builds_on
    await need(api, "learn", "/v1/shares/{id}/reminders", "post")  # the reminder rounds
    await need(api, "learn", STATE_PATH, "get")
    await need(api, "learn", "/v1/shares/{id}/questions/{qid}/answers", "post")
    ids = await directory(api, unique)
    alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
    notify_url = stack.url("notify")
    errors: list[str] = []
    bob_page = await open_inbox(browser, notify_url, token(api, bob), errors)
    alice_page = await open_inbox(browser, notify_url, token(api, alice), errors)
    carol_page = await open_inbox(browser, notify_url, token(api, carol), errors)

    # A share due in a few seconds that bob leaves alone: his page shows it pending, then overdue, and alice
    # gets the overdue notice. It runs while the rest of the test goes on.
    soon = datetime.now(UTC) + timedelta(seconds=8)
    late = await publish(api, alice, [bob], f"Due soon {unique}", due_at=soon.isoformat(), requires="opened")
    late_item = item(bob_page, late)
    await late_item.wait_for(timeout=20_000)
    await expect(state_of(late_item)).to_have_attribute(
        "data-status", re.compile("^(pending|overdue)$"), timeout=20_000
    )
    if datetime.now(UTC) < soon - timedelta(seconds=1):
        await expect(state_of(late_item).locator("[data-fact='status']")).to_have_text("Pending: open it")
        await expect(state_of(late_item).locator("[data-fact='due']")).to_contain_text("Due ")

    # The main share: due in an hour, one reminder 2 s after publication, to bob and carol.
    title = f"Consumer lag explained {unique}"
    due = datetime.now(UTC) + timedelta(hours=1)
    sid = await publish(
        api, alice, [bob, carol], title, url=f"{notify_url}/healthz", due_at=due.isoformat(), reminders=["PT2S"]
    )
    delivered = item(bob_page, sid)
    await delivered.wait_for(timeout=20_000)
    await expect(delivered.locator(".tag")).to_have_text("Share")
    await expect(state_of(delivered)).to_have_attribute("data-status", "pending", timeout=20_000)
    await expect(state_of(delivered).locator("[data-fact='status']")).to_have_text("Pending: learn it")
    await expect(state_of(delivered).locator("[data-fact='due']")).to_contain_text("Due ")

    # The reminder arrives live, labelled, naming the share; it carries the same state and buttons.
    reminder = item(bob_page, sid, "reminder")
    await reminder.wait_for(timeout=20_000)
    await expect(reminder.locator(".tag")).to_have_text("Reminder")
    await expect(reminder.locator(".text")).to_contain_text(title)
    await expect(bob_page.locator("#announcer")).to_contain_text("Reminder")
    await expect_state(reminder, "pending", [], None)

    # bob marks it learned and rates it 5 on the reminder: every item of the share shows what he did.
    out = reminder.locator("output.result")
    await reminder.get_by_role("button", name="Learned").click()
    await expect(out).to_have_text("Learned: recorded.")
    await reminder.get_by_role("button", name="Rate 5 out of 5").click()
    await expect(out).to_have_text("Rating 5/5: recorded.")
    for it in (reminder, delivered):
        await expect_state(it, "completed", ["learned"], 5)
        await expect(state_of(it).locator("[data-fact='status']")).to_have_text(re.compile(r"^Completed "))
    st = await learn_state(api, bob, sid)
    assert (st["status"], st["acknowledged"], st["rating"], st["requires"]) == (
        "completed",
        ["learned", "rated"],
        5,
        "learned",
    )

    # What the issue saw: after a reload the page still shows that he learned it and how he rated it.
    await bob_page.reload()
    await bob_page.wait_for_selector(LIVE)
    await expect_state(item(bob_page, sid), "completed", ["learned"], 5)
    await expect_state(item(bob_page, sid, "reminder"), "completed", ["learned"], 5)
    await expect(state_of(late_item)).to_have_attribute("data-status", re.compile("pending|overdue"))

    # Overdue: bob's page turns the untouched share overdue at its due time; alice gets the overdue notice.
    await expect(state_of(late_item)).to_have_attribute("data-status", "overdue", timeout=20_000)
    await expect(state_of(late_item).locator("[data-fact='status']")).to_have_text("Overdue: open it")
    await expect(state_of(late_item).locator("[data-fact='due']")).to_contain_text("Was due ")
    overdue = item(alice_page, late, "overdue")
    await overdue.wait_for(timeout=20_000)
    await expect(overdue.locator(".tag")).to_have_text("Overdue")
    await expect(overdue.locator(".text")).to_contain_text("1 of 1 have not opened")

    # Questions: bob asks a public and a private one; the state counts them.
    delivered = item(bob_page, sid)
    out = delivered.locator("output.result")
    public_q = f"Does lag include uncommitted offsets? {unique}"
    private_q = f"Can I skip the second half? {unique}"
    await delivered.get_by_placeholder("Ask the author…").fill(public_q)
    await delivered.get_by_role("checkbox", name="Public question").check()
    await delivered.get_by_role("button", name="Ask", exact=True).click()
    await expect(out).to_have_text("Public question: recorded.")
    await expect(delivered.get_by_role("checkbox", name="Public question")).not_to_be_checked()
    await delivered.get_by_placeholder("Ask the author…").fill(private_q)
    await delivered.get_by_role("button", name="Ask", exact=True).click()
    await expect(out).to_have_text("Question: recorded.")
    await expect(state_of(delivered).locator("[data-fact='questions']")).to_have_text("2 questions asked")

    # bob sees both of his; carol, another recipient, sees only the public one.
    bob_panel = await open_questions(delivered)
    await expect(bob_panel.locator("li.question")).to_have_count(2)
    await expect(bob_panel.locator("li.question[data-public='true']")).to_contain_text(public_q)
    await expect(bob_panel.locator("li.question[data-public='false']")).to_contain_text(private_q)
    carol_panel = await open_questions(item(carol_page, sid))
    await expect(carol_panel.locator("li.question")).to_have_count(1)
    await expect(carol_panel.locator("li.question")).to_contain_text(public_q)
    await expect(carol_panel.locator("li.question .chip.public")).to_have_text("Public")

    # Meanwhile bob records `applied` outside the page (the API): the page learns of it with the next live
    # notification, here alice's answer.
    r = await api.learn.post(f"/v1/shares/{sid}/acknowledgements", json={"kind": "applied"}, headers=api.auth(bob))
    assert r.status_code == 201, r.text

    # alice (the author) reads both questions on her feedback item and answers the public one.
    asked = alice_page.locator("li.item.kind-feedback", has_text=public_q).first
    await asked.wait_for(timeout=20_000)
    alice_panel = await open_questions(asked)
    await expect(alice_panel.locator("li.question")).to_have_count(2)
    reply = f"Only committed ones count. {unique}"
    question = alice_panel.locator("li.question", has_text=public_q)
    await question.get_by_label("Your answer").fill(reply)
    await question.get_by_role("button", name="Answer", exact=True).click()
    await expect(alice_panel.locator("output.thread-result")).to_have_text("Answer: sent.")
    await expect(alice_panel.locator("li.question", has_text=public_q).locator("li.answer")).to_contain_text(reply)

    # bob gets an `answer` notification live, his open thread shows the answer, and his state is current.
    answered = item(bob_page, sid, "answer")
    await answered.wait_for(timeout=20_000)
    await expect(answered.locator(".tag")).to_have_text("Answer")
    await expect(answered.locator(".text")).to_contain_text(reply)
    await expect(bob_panel.locator("li.question", has_text=public_q).locator("li.answer")).to_contain_text(reply)
    await expect(bob_panel.locator("li.question", has_text=private_q).locator("li.answer")).to_have_count(0)
    await expect_state(delivered, "completed", ["learned", "applied"], 5)
    # The answer's own item opens the same thread.
    answer_panel = await open_questions(answered)
    answer_li = answer_panel.locator("li.question", has_text=public_q).locator("li.answer")
    await expect(answer_li).to_contain_text(reply)
    await expect(answer_li.locator(".from")).to_have_text(alice)

    # A revision (reconfirm): bob is notified, every item shows the new title, and he is pending again
    # with revision 1 kept as completed.
    new_title = f"Consumer lag explained, second edition {unique}"
    r = await api.share.patch(f"/v1/shares/{sid}", json={"title": new_title}, headers=api.auth(alice))
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2
    revised = item(bob_page, sid, "share.revised")
    await revised.wait_for(timeout=20_000)
    await expect(revised.locator(".tag")).to_have_text("Revised")
    await expect(revised.locator(".title")).to_have_text(new_title)
    for kind in ("share.delivered", "reminder", "answer"):
        await expect(item(bob_page, sid, kind).locator(".title")).to_have_text(new_title)
    await expect_state(revised, "pending", [], ANY_RATING)  # whether a rating carries over is learn's business
    await expect(state_of(revised).locator("[data-fact='earlier']")).to_have_text("Completed revision 1")
    out = revised.locator("output.result")
    await revised.get_by_role("button", name="Learned").click()
    await expect(out).to_have_text("Learned: recorded.")
    await expect(out).to_have_attribute("data-status", "201")
    await expect_state(revised, "completed", ["learned"], ANY_RATING)
    assert sorted(set((await learn_state(api, bob, sid))["completed_revisions"])) == [1, 2]

    # carol builds on alice's share: alice gets a built-on notification about her own share.
    derived_title = f"Lag alerts that work {unique}"
    await publish(api, carol, [bob], derived_title, builds_on=[sid])
    built = item(alice_page, sid, "built_on")
    await built.wait_for(timeout=20_000)
    await expect(built.locator(".tag")).to_have_text("Built on")
    await expect(built.locator(".text")).to_contain_text(carol)
    await expect(built.locator(".text")).to_contain_text(derived_title)
    await expect(built.locator(".actions")).to_have_count(0)  # her own share: nothing to acknowledge

    await bob_page.screenshot(path=str(screenshots / "inbox-follow-through-recipient.png"), full_page=True)
    await alice_page.screenshot(path=str(screenshots / "inbox-follow-through-author.png"), full_page=True)
    for p in (bob_page, alice_page, carol_page):
        await p.context.close()
    assert errors == []


@needs_chromium
async def test_page_works_with_a_learn_without_state_or_questions(api, stack, browser, unique):
    """A learn that predates the state and questions endpoints (404): no state is shown, nothing breaks, and
    acknowledging works as before."""
    ids = await directory(api, unique)
    bob = ids["bob"]
    notify_url = stack.url("notify")
    errors: list[str] = []
    bob_page = await open_inbox(browser, notify_url, token(api, bob), errors, (STATE_PATH, "/questions"))
    cors = {"Access-Control-Allow-Origin": notify_url}
    asked: list[str] = []

    async def older_learn(route: Any) -> None:
        asked.append(route.request.url)
        problem = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Not Found"}
        await route.fulfill(status=404, json=problem, headers=cors, content_type="application/problem+json")

    await bob_page.route(re.compile(r".*/v1/me/learning/state\?.*"), older_learn)
    await bob_page.route(re.compile(r".*/v1/shares/[^/]+/questions(\?.*)?$"), older_learn)
    sid = await publish(api, ids["alice"], [bob], f"Older learn {unique}")
    shown = item(bob_page, sid)
    await shown.wait_for(timeout=20_000)
    await learn_knows(api, bob, sid)
    await shown.get_by_role("button", name="Learned").click()
    await expect(shown.locator("output.result")).to_have_text("Learned: recorded.")
    await expect(shown.get_by_role("button", name="Learned")).to_have_attribute("aria-pressed", "true")

    await bob_page.wait_for_selector("#inbox-section[data-learn-state='unsupported']", state="attached")
    assert any(STATE_PATH in u for u in asked)
    await expect(state_of(shown)).to_be_hidden()
    panel = shown.locator("details.questions")
    await panel.locator("summary").click()
    await expect(panel.locator(".thread")).to_contain_text("No questions to show")
    # After the first 404 the page stops asking for state until the list is loaded again.
    n = sum(STATE_PATH in u for u in asked)
    await shown.get_by_role("button", name="Applied").click()
    await expect(shown.locator("output.result")).to_have_text("Applied: recorded.")
    await bob_page.wait_for_timeout(500)
    assert sum(STATE_PATH in u for u in asked) == n
    assert await bob_page.text_content("#inbox-error") == ""
    await bob_page.context.close()
    assert errors == []


CHECK_PATH = "/v1/shares/{id}/checks"
QUIZ = [
    {"question": "Which offset is committed?", "choices": ["The last one read", "The next to read"], "answer": 1},
    {"question": "What keeps messages in order?", "choices": ["The topic", "The partition", "The broker"], "answer": 1},
]


def check_of(page_item: Any) -> Any:
    return page_item.locator("section.check")


@needs_chromium
async def test_taking_the_knowledge_check_on_the_inbox_page(api, stack, browser, unique, screenshots):
    """A share with a knowledge check: the delivery says so, "Learned" leads to the check, an incomplete form is
    refused in the page, a wrong attempt shows right/wrong per question and the attempts left, a passing one
    records `learned` (state, feedback) and the author's digest counts the pass. No answer reaches the page."""
    await need(api, "learn", CHECK_PATH, "get")
    await need(api, "learn", STATE_PATH, "get")
    ids = await directory(api, unique)
    alice, bob = ids["alice"], ids["bob"]
    notify_url = stack.url("notify")
    errors: list[str] = []
    bob_page = await open_inbox(browser, notify_url, token(api, bob), errors)
    alice_page = await open_inbox(browser, notify_url, token(api, alice), errors)
    answers_seen: list[str] = []

    async def watch(response: Any) -> None:
        if "/checks" in response.url and response.request.method == "GET" and response.ok:
            answers_seen.extend(str(i.get("answer")) for i in (await response.json())["items"] if "answer" in i)

    bob_page.on("response", watch)

    title = f"Offsets, with a check {unique}"
    sid = await publish(api, alice, [bob], title, checks=QUIZ, pass_mark=1.0, max_attempts=3)
    delivered = item(bob_page, sid)
    await delivered.wait_for(timeout=20_000)
    await expect(delivered.locator(".text")).to_contain_text("(with a knowledge check)")
    check = check_of(delivered)
    await expect(check).to_be_visible()
    await expect(check.get_by_role("button", name="Take the check")).to_have_attribute("aria-expanded", "false")
    await expect(state_of(delivered).locator("[data-fact='check']")).to_have_text(
        "Check: 0 of 3 attempts used", timeout=20_000
    )

    # "Learned" leads to the check instead of recording anything; the first choice gets the focus.
    out = delivered.locator("output.result")
    await delivered.get_by_role("button", name="Learned").click()
    await expect(out).to_have_text("Learned: pass the knowledge check first.")
    await expect(check.get_by_role("button", name="Take the check")).to_have_attribute("aria-expanded", "true")
    questions = check.locator("fieldset.check-question")
    await expect(questions).to_have_count(2)
    await expect(questions.nth(0).locator("legend")).to_have_text(f"1. {QUIZ[0]['question']}")
    await expect(questions.nth(1).get_by_role("radio")).to_have_count(3)
    await expect(questions.nth(0).get_by_role("radio", name="The last one read")).to_be_focused()
    await expect(check.locator(".check-info")).to_have_text("2 questions, pass mark 100%, 0 of 3 attempts used.")
    assert (await feedback(api, alice, sid))["learned"] == 0

    # An incomplete form stays in the page (no attempt used).
    result = check.locator("output.check-result")
    await questions.nth(0).get_by_role("radio", name="The last one read").check()
    await check.get_by_role("button", name="Submit answers").click()
    await expect(result).to_have_text("Answer every question first (question 2 has no answer).")
    await expect(questions.nth(1).get_by_role("radio").first).to_be_focused()

    # A wrong attempt: graded per question (in words, not only colour), attempts left, state updated.
    await questions.nth(1).get_by_role("radio", name="The partition").check()
    await check.get_by_role("button", name="Submit answers").click()
    await expect(result).to_have_text("Score 50% (1 of 2 right): not passed. 2 attempts left.")
    await expect(result).to_have_attribute("data-status", "201")
    await expect(questions.nth(0)).to_have_attribute("data-result", "wrong")
    await expect(questions.nth(0).locator(".verdict")).to_have_text("✗ Wrong")
    await expect(questions.nth(1).locator(".verdict")).to_have_text("✓ Right")
    await expect(check.locator(".check-info")).to_have_text("2 questions, pass mark 100%, 1 of 3 attempts used.")
    await expect(state_of(delivered).locator("[data-fact='check']")).to_have_text("Check: 1 of 3 attempts used")
    await expect(state_of(delivered)).to_have_attribute("data-status", "pending")
    await bob_page.screenshot(path=str(screenshots / "inbox-knowledge-check-attempt.png"), full_page=True)

    # The right answers pass: learn records `learned` once, the form closes, every fact shows it.
    await questions.nth(0).get_by_role("radio", name="The next to read").check()
    await check.get_by_role("button", name="Submit answers").click()
    await expect(result).to_have_text("Score 100% (2 of 2 right): passed. Learned is recorded.")
    await expect(check).to_have_attribute("data-passed", "true")
    await expect(check.get_by_role("button", name="Submit answers")).to_be_disabled()
    await expect(out).to_have_text("Learned: recorded by passing the check.")
    await expect(questions.nth(0).locator(".verdict")).to_have_text("✓ Right")
    await expect_state(delivered, "completed", ["learned"], None)
    await expect(state_of(delivered).locator("[data-fact='check']")).to_have_text("Check passed ✓")
    fb = await feedback(api, alice, sid)
    assert fb["learned"] == 1
    if isinstance(fb.get("checks"), dict):
        assert (fb["checks"]["attempted"], fb["checks"]["passed"]) == (1, 1)

    # Learned again: learn already has it (the pass recorded it).
    await delivered.get_by_role("button", name="Learned").click()
    await expect(out).to_have_text("Learned: already recorded.")

    # Reloaded, the page shows the check as passed from learn (the form closed).
    await bob_page.reload()
    await bob_page.wait_for_selector(LIVE)
    delivered = item(bob_page, sid)
    await expect(state_of(delivered).locator("[data-fact='check']")).to_have_text("Check passed ✓")
    await check_of(delivered).get_by_role("button", name="Take the check").click()
    await expect(check_of(delivered).locator("output.check-result")).to_have_text("You passed this knowledge check.")
    await expect(check_of(delivered).get_by_role("radio").first).to_be_disabled()

    # The author hears of the first learner at once and of the pass in a digest.
    await alice_page.locator("li.item.kind-feedback", has_text=f"reached its first learner: {bob}").wait_for(
        timeout=20_000
    )
    await alice_page.locator("li.item.kind-feedback", has_text="1 passed the check").wait_for(timeout=20_000)

    await bob_page.screenshot(path=str(screenshots / "inbox-knowledge-check.png"), full_page=True)
    assert answers_seen == []  # learn never sent bob an answer
    for p in (bob_page, alice_page):
        await p.context.close()
    assert errors == []


@needs_chromium
async def test_learned_refused_by_learn_shows_why_and_opens_the_check(api, stack, browser, unique):
    """A page that does not know of the check (a notification and a learn state without it, as from older
    services) posts `learned`: learn's 409 is shown with its detail and the check opens."""
    await need(api, "learn", CHECK_PATH, "get")
    ids = await directory(api, unique)
    bob = ids["bob"]
    sid = await publish(api, ids["alice"], [bob], f"Unannounced check {unique}", checks=QUIZ[:1])
    await learn_knows(api, bob, sid)

    async def notified() -> bool:
        r = await api.notify.get("/v1/notifications", headers=api.auth(bob))
        return any(n["share_id"] == sid for n in r.json()["items"])

    await eventually(notified)  # in the list the page loads, not only on its live stream

    async def without_checks(route: Any) -> None:
        response = await route.fetch()
        body = await response.json()
        for x in body.get("items", []):
            x.pop("has_checks", None)
            x.pop("checks", None)
        await route.fulfill(response=response, json=body)

    errors: list[str] = []
    context = await browser.new_context(viewport={"width": 1000, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    await page.route(re.compile(r".*/v1/notifications\?.*"), without_checks)
    await page.route(re.compile(r".*/v1/me/learning/state\?.*"), without_checks)
    await page.goto(f"{stack.url('notify')}/inbox#token={token(api, bob)}")
    await page.wait_for_selector(LIVE, timeout=15_000)
    shown = item(page, sid)
    await shown.wait_for(timeout=20_000)
    await expect(check_of(shown)).to_be_hidden()
    await expect(state_of(shown)).to_have_attribute("data-status", "pending", timeout=20_000)

    await shown.get_by_role("button", name="Learned").click()
    out = shown.locator("output.result")
    await expect(out).to_have_attribute("data-status", "409")
    await expect(out).to_have_text(re.compile(r"^Learned: not recorded \(.*check.*\)\.$"))
    await expect(check_of(shown)).to_be_visible()
    await expect(check_of(shown).locator("fieldset.check-question")).to_have_count(1)
    await expect(check_of(shown).get_by_role("radio").first).to_be_focused()
    assert not (await learn_state(api, bob, sid)).get("acknowledged")
    await context.close()
    assert errors == []
